// Option parsers that fail with a clear message naming the flag.
import { InvalidArgumentError } from 'commander';

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer.');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number.');
  return n;
}

export function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number.');
  return n;
}

export function intList(value: string): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new InvalidArgumentError('expected a comma-separated list of positive integers, e.g. 512,512.');
  }
  return parts;
}

export function oneOf<T extends string>(choices: ReadonlyArray<T>): (value: string) => T {
  return (value) => {
    if (!choices.includes(value as T)) throw new InvalidArgumentError(`expected one of: ${choices.join(', ')}.`);
    return value as T;
  };
}

/** Class labels like "0-4" or "0,2,5-7". */
export function classList(value: string): number[] {
  const out = new Set<number>();
  for (const part of value.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError('expected class labels like 0-4 or 0,2,5-7.');
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new InvalidArgumentError(`empty range ${part.trim()}.`);
    for (let c = lo; c <= hi; c++) out.add(c);
  }
  return [...out].sort((a, b) => a - b);
}

export function numberList(value: string): number[] {
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length === 0 || parts.some((n) => !Number.isFinite(n) || n < 0)) throw new InvalidArgumentError('expected comma-separated non-negative numbers, e.g. 0.5,0.5.');
  return parts;
}

/** A number, or group=number pairs: "1.25" or "fc1=1.5,fc2=1.25". */
export function widthRatios(value: string): number | Map<string, number> {
  if (!value.includes('=')) return positiveNumber(value);
  const out = new Map<string, number>();
  for (const part of value.split(',')) {
    const [g, r] = part.split('=').map((x) => x.trim());
    const n = Number(r);
    if (!g || !Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a ratio like 1.25 or per-group ratios like fc1=1.5,fc2=1.25.');
    out.set(g, n);
  }
  return out;
}
