// The builder API: every op's construction function, in one import.
export * from './elementwise.js';
export * from './matmul.js';
export * from './conv.js';
export * from './pool.js';
export * from './reduce.js';
export * from './shape-ops.js';
export * from './nn.js';
export { type Operand } from './operand.js';
