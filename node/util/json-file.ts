// Reading a user's JSON file (a configuration, a scenario): a missing file, an unreadable one
// and invalid JSON each become one clear message, raised as the caller's error class.
import { readFileSync } from 'node:fs';

export function readJsonFile(path: string, what: string, fail: (message: string) => Error): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw fail(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw fail(`${path} is not JSON: ${(e as Error).message}`);
  }
}
