// `mergemesh report`: one self-contained HTML file from a run's JSONL event log. uPlot's script
// and stylesheet are inlined, so the page opens offline and can be mailed around.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { LOG_VERSION, type AgentRoundEvent, type EndEvent, type RoundEvent, type SimEvent, type StartEvent } from './events.js';
import { describeOutcome, formatBytes } from './summary.js';

export class LogError extends Error {}

export interface ParsedLog {
  readonly start: StartEvent;
  readonly agentRounds: ReadonlyArray<AgentRoundEvent>;
  readonly rounds: ReadonlyArray<RoundEvent>;
  readonly end: EndEvent | undefined;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** Parses and checks an event log; a run that was cut short still parses (without `end`). */
export function parseLog(text: string, source = 'log'): ParsedLog {
  const events: SimEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].trim();
    if (!l) continue;
    let e: unknown;
    try {
      e = JSON.parse(l);
    } catch {
      // A run killed mid-write leaves a partial last line; anything else is corruption.
      if (lines.slice(i + 1).every((x) => !x.trim())) break;
      throw new LogError(`${source}:${i + 1}: not JSON`);
    }
    if (!isObject(e) || typeof e.event !== 'string') throw new LogError(`${source}:${i + 1}: not a mergemesh event (no "event" field)`);
    events.push(e as unknown as SimEvent);
  }
  const start = events[0];
  if (!start || start.event !== 'start') throw new LogError(`${source}: not a mergemesh sim log (the first event must be "start")`);
  if (start.log_version !== LOG_VERSION) throw new LogError(`${source}: log version ${String(start.log_version)}, this mergemesh reads version ${LOG_VERSION}`);
  const need = (e: Record<string, unknown>, keys: ReadonlyArray<string>, what: string) => {
    for (const k of keys) if (typeof e[k] !== 'number') throw new LogError(`${source}: a ${what} event lacks the number ${k}`);
  };
  const rounds = events.filter((e): e is RoundEvent => e.event === 'round');
  const agentRounds = events.filter((e): e is AgentRoundEvent => e.event === 'agent_round');
  for (const r of rounds) need(r as unknown as Record<string, unknown>, ['round', 'mean_accuracy', 'min_accuracy', 'consensus_distance', 'bytes_sent', 'merge_ms'], 'round');
  for (const a of agentRounds) need(a as unknown as Record<string, unknown>, ['round', 'agent', 'accuracy', 'loss'], 'agent_round');
  if (!rounds.length) throw new LogError(`${source}: no completed round in the log (the run stopped before pretraining finished)`);
  const end = events.find((e): e is EndEvent => e.event === 'end');
  return { start, agentRounds, rounds, end };
}

function asset(path: string): string {
  const require = createRequire(import.meta.url);
  return readFileSync(require.resolve(path), 'utf8');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON safe inside a <script> element. */
const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028|\u2029/g, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'));

interface Chart {
  readonly title: string;
  readonly y: string;
  readonly series: ReadonlyArray<{ readonly label: string; readonly values: ReadonlyArray<number | null>; readonly width?: number; readonly color: string; readonly dash?: boolean }>;
  readonly log?: boolean;
}

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

function charts(log: ParsedLog): { x: number[]; charts: Chart[] } {
  const x = log.rounds.map((r) => r.round);
  const n = log.start.scenario.agents;
  const perAgent = (k: 'accuracy' | 'loss' | 'local_accuracy', scale: number) =>
    Array.from({ length: n }, (_, a) => {
      const byRound = new Map(log.agentRounds.filter((e) => e.agent === a).map((e) => [e.round, e[k] * scale]));
      return x.map((r) => byRound.get(r) ?? null);
    });
  // Past ten agents the individual lines are a grey band behind the mean.
  const agentSeries = (values: Array<Array<number | null>>) =>
    values.map((v, a) => ({ label: `agent ${a}`, values: v, width: 1, color: n <= 10 ? PALETTE[a % PALETTE.length] : '#c8c8c8' }));
  const R = log.rounds;
  return {
    x,
    charts: [
      {
        title: 'Test accuracy after merging (global test set)',
        y: '%',
        series: [
          ...agentSeries(perAgent('accuracy', 100)),
          { label: 'mean', values: R.map((r) => 100 * r.mean_accuracy), width: 3, color: '#111' },
          { label: 'mean before merge', values: R.map((r) => (r.mean_trained_accuracy === null ? null : 100 * r.mean_trained_accuracy)), width: 2, color: '#777', dash: true },
        ],
      },
      {
        title: 'Test loss after merging',
        y: 'cross-entropy',
        series: [...agentSeries(perAgent('loss', 1)), { label: 'mean', values: R.map((r) => r.mean_loss), width: 3, color: '#111' }],
      },
      {
        title: 'Consensus distance (relative RMS distance to the mean model)',
        y: 'distance',
        series: [
          { label: 'raw', values: R.map((r) => r.consensus_distance), width: 2, color: PALETTE[0] },
          { label: 'after alignment', values: R.map((r) => r.consensus_distance_aligned), width: 2, color: PALETTE[1] },
        ],
      },
      {
        title: 'Bytes on the wire per round',
        y: 'bytes',
        series: [
          { label: 'sent', values: R.map((r) => r.bytes_sent), width: 2, color: PALETTE[0] },
          { label: 'received', values: R.map((r) => r.bytes_received), width: 2, color: PALETTE[1], dash: true },
          { label: 'control', values: R.map((r) => r.control_bytes), width: 1, color: PALETTE[2] },
        ],
      },
      {
        title: 'Time per round, summed over agents (wall clock)',
        y: 'ms',
        series: [
          { label: 'training', values: R.map((r) => r.train_ms), width: 2, color: PALETTE[4] },
          { label: 'aligning', values: R.map((r) => r.align_ms), width: 2, color: PALETTE[1] },
          { label: 'merging', values: R.map((r) => r.merge_ms), width: 2, color: PALETTE[2] },
          { label: 'evaluating', values: R.map((r) => r.eval_ms), width: 1, color: PALETTE[9] },
        ],
      },
    ],
  };
}

function roundTable(log: ParsedLog): string {
  const head = ['round', 'mean acc', 'min', 'max', 'own-data acc', 'loss', 'consensus', 'aligned', 'frames', 'sent', 'merge ms'];
  const rows = log.rounds.map((r) =>
    [
      r.round,
      `${(100 * r.mean_accuracy).toFixed(2)}%`,
      `${(100 * r.min_accuracy).toFixed(2)}%`,
      `${(100 * r.max_accuracy).toFixed(2)}%`,
      `${(100 * r.mean_local_accuracy).toFixed(2)}%`,
      r.mean_loss.toFixed(4),
      r.consensus_distance.toFixed(4),
      r.consensus_distance_aligned === null ? '–' : r.consensus_distance_aligned.toFixed(4),
      r.frames,
      formatBytes(r.bytes_sent),
      Math.round(r.merge_ms),
    ]
      .map((c) => `<td>${escapeHtml(String(c))}</td>`)
      .join(''),
  );
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r}</tr>`).join('')}</tbody></table>`;
}

export function renderReport(log: ParsedLog, title = log.start.scenario.name): string {
  const s = log.start.scenario;
  const { x, charts: cs } = charts(log);
  const outcome = describeOutcome(s, log.rounds);
  const facts = [
    `${s.agents} agents`,
    `${s.topology.kind} topology (spectral gap ${log.start.spectral_gap.toFixed(4)})`,
    `${log.start.model}, ${log.start.params.toLocaleString('en')} parameters`,
    `${s.data.dataset}, ${s.data.partition.kind} partition`,
    `strategy ${s.strategy.kind}`,
    `${s.mode} rounds`,
    `${s.network.transport} network, codec ${s.network.codec}`,
    `seed ${s.seed}`,
  ];
  const status = log.end ? `finished in ${log.end.wall_s.toFixed(1)} s` : `incomplete: the log stops after round ${log.rounds[log.rounds.length - 1].round} of ${s.rounds}`;
  const wire = log.end?.libp2p;
  if (wire) facts.push(`libp2p moved ${formatBytes(wire.protocol)} on mergemesh's streams, ${formatBytes(wire.transport)} on the connections`);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mergemesh: ${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${asset('uplot/dist/uPlot.min.css')}</style>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1000px;padding:0 16px;color:#222}
h1{font-size:22px;margin-bottom:4px} .facts{color:#555} .outcome{white-space:pre-line;background:#f5f7fa;border-left:4px solid #4e79a7;padding:8px 12px}
table{border-collapse:collapse;margin:12px 0;font-variant-numeric:tabular-nums} td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right} th{background:#f0f0f0}
.chart{margin:18px 0} pre{background:#f7f7f7;padding:10px;overflow:auto}
</style></head><body>
<h1>mergemesh run: ${escapeHtml(title)}</h1>
<p class="facts">${facts.map(escapeHtml).join(' · ')} · ${escapeHtml(status)}</p>
<p class="outcome">${escapeHtml(outcome)}</p>
<div id="charts"></div>
<h2>Per round</h2>
<p>Round 0 is the state after pretraining, before any communication.</p>
${roundTable(log)}
<details><summary>Scenario (every field, defaults filled in)</summary><pre>${escapeHtml(JSON.stringify(s, null, 2))}</pre></details>
<script>${asset('uplot/dist/uPlot.iife.min.js')}</script>
<script>
const X = ${scriptJson(x)};
const CHARTS = ${scriptJson(cs)};
const root = document.getElementById('charts');
const fmtBytes = (b) => b == null ? '' : b < 1024 ? b + ' B' : b < 1048576 ? (b / 1024).toFixed(0) + ' KiB' : (b / 1048576).toFixed(1) + ' MiB';
const width = () => Math.min(root.clientWidth || 960, 960);
const plots = CHARTS.map((c) => {
  const div = document.createElement('div');
  div.className = 'chart';
  root.appendChild(div);
  return new uPlot({
    title: c.title, width: width(), height: 280,
    scales: { x: { time: false } },
    axes: [{ label: 'round', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { label: c.y, size: 80, ...(c.y === 'bytes' ? { values: (u, vs) => vs.map(fmtBytes) } : {}) }],
    series: [{ label: 'round' }, ...c.series.map((s) => ({ label: s.label, stroke: s.color, width: s.width || 1, dash: s.dash ? [6, 4] : undefined, spanGaps: true }))],
  }, [X, ...c.series.map((s) => s.values)], div);
});
addEventListener('resize', () => plots.forEach((p) => p.setSize({ width: width(), height: 280 })));
</script>
</body></html>
`;
}
