// A frame (the unit order a model's hidden layers are in) is named by the seed of the
// initialisation it descends from, so peers started alike share one. The frame-aware policy
// converges on the lowest name it sees. Names are hashed: with raw seeds, agents numbered along
// a ring hold increasing names, the lowest name moves one hop per round and every agent changes
// frame (and aligns both neighbours) every round until it arrives; hashed names are in no
// order along the graph, so each local minimum takes over a run of agents at once and only
// the agents at the runs' borders align (the default 64-agent ring: 80 alignments instead of
// 124 in round 2, 55 instead of 120 in round 3).
import { hash32 } from '../util/rng.js';

export const frameOfSeed = (seed: number): number => hash32(seed);
