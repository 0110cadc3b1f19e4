// The merge-and-train loop of one agent, written against Transport only, so the same code runs
// in the simulator and on libp2p. A round: train locally → announce → (synchronous mode: wait
// for the neighbours' versions of this round) → fetch them → merge → report. In asynchronous
// mode the agent does not wait: it merges with whatever versions it holds, and the staleness of
// each is recorded.
import type { Agent, TrainReport } from './agent.js';
import type { MergeInput, MergeReport } from './strategy.js';
import type { Transport } from './transport.js';

export interface LoopOptions {
  readonly rounds: number;
  readonly mode: 'sync' | 'async';
  /** Synchronous mode: how long to wait for neighbours' versions (transport seconds). */
  readonly roundTimeoutS: number;
  /** Transport seconds that training `samples` takes (the virtual clock's cost model). */
  readonly trainSeconds: (samples: number) => number;
  /** Local epochs before the first round (pre-training from the agent's own init). */
  readonly pretrainEpochs: number;
  /** False for the no-communication baseline: nothing is announced, fetched or merged. */
  readonly communicate?: boolean;
}

export interface NeighbourUse {
  readonly agent: number;
  readonly weight: number;
  /** Rounds behind the merging agent's round (0: this round's version). */
  readonly lag: number;
  /** Transport seconds since the version was announced… as heard here. */
  readonly age_s: number;
}

export interface RoundRecord {
  readonly agent: number;
  readonly round: number;
  readonly online: boolean;
  /** Transport time at the end of the round. */
  readonly t: number;
  readonly train?: TrainReport;
  readonly merge?: Omit<MergeReport, 'weights'>;
  readonly neighbours: ReadonlyArray<NeighbourUse>;
  /** Neighbours of this round whose version could not be had (lost, offline, timed out). */
  readonly missing: ReadonlyArray<number>;
  readonly frame: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly controlBytes: number;
}

export interface LoopHooks {
  /** After (pre-training and) the first announcement, before round 1. */
  afterStart?(agent: Agent): Promise<void> | void;
  /** After local training, before announcing (e.g. to evaluate the trained model). */
  afterTrain?(agent: Agent, round: number): Promise<void> | void;
  /** After the merge: the round's record, with the agent holding its merged weights. */
  afterMerge?(agent: Agent, record: RoundRecord): Promise<void> | void;
}

export async function runAgentLoop(agent: Agent, net: Transport, o: LoopOptions, hooks: LoopHooks = {}): Promise<void> {
  let traffic = net.traffic();
  const trafficDelta = () => {
    const now = net.traffic();
    const d = { bytesSent: now.sent - traffic.sent, bytesReceived: now.received - traffic.received, controlBytes: now.control - traffic.control };
    traffic = now;
    return d;
  };
  if (o.pretrainEpochs > 0) {
    const r = await agent.train(o.pretrainEpochs);
    await net.sleep(o.trainSeconds(r.samples));
  }
  const talk = o.communicate ?? true;
  // Round 0: the starting version, so that the first merge has something to fetch.
  if (talk) await net.announce(agent.weights, { round: 0, frame: agent.frame });
  await hooks.afterStart?.(agent);

  for (let round = 1; round <= o.rounds; round++) {
    if (!net.online(round)) {
      // Down for this round: no training, no messages; the clock still runs.
      await net.sleep(o.trainSeconds(0) || o.roundTimeoutS);
      await hooks.afterMerge?.(agent, { agent: agent.index, round, online: false, t: net.now(), neighbours: [], missing: [], frame: agent.frame, ...trafficDelta() });
      continue;
    }
    const train = await agent.train();
    if (talk) net.prepare?.(agent.weights, { round, frame: agent.frame });
    await net.sleep(o.trainSeconds(train.samples));
    await hooks.afterTrain?.(agent, round);
    if (!talk) {
      await hooks.afterMerge?.(agent, { agent: agent.index, round, online: true, t: net.now(), train, neighbours: [], missing: [], frame: agent.frame, ...trafficDelta() });
      continue;
    }
    const published = await net.announce(agent.weights, { round, frame: agent.frame });

    const hood = net.neighbours(round);
    const ids = hood.peers.map((p) => p.agent);
    if (o.mode === 'sync') await net.awaitRound(ids, round, o.roundTimeoutS);
    const inputs: MergeInput[] = [];
    const used: NeighbourUse[] = [];
    const missing: number[] = [];
    let selfWeight = hood.self;
    for (const p of hood.peers) {
      const k = net.known(p.agent);
      const v = k && (await net.fetch(p.agent, k.hash));
      if (!v) {
        // Its weight stays with this agent, so the mixing weights still sum to one.
        missing.push(p.agent);
        selfWeight += p.weight;
        continue;
      }
      inputs.push({ agent: p.agent, weight: p.weight, values: v.values, frame: v.meta.frame, version: v });
      used.push({ agent: p.agent, weight: p.weight, lag: round - v.meta.round, age_s: net.now() - v.at });
    }
    const { weights: _merged, ...merge } = await agent.merge(selfWeight, inputs, published);
    await hooks.afterMerge?.(agent, { agent: agent.index, round, online: true, t: net.now(), train, merge, neighbours: used, missing, frame: agent.frame, ...trafficDelta() });
  }
}
