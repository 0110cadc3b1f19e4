// The compile targets tests run under: standard ONNX always, plus ORT's NCHWc kernels when
// this machine's ORT has them (each conv lowering must be exact under both).
import { STANDARD_TARGET, type CompileTarget } from '../../node/tensor/graph.js';
import type { Runtime } from '../../node/tensor/runtime/pool.js';

export async function targetsOf(rt: Runtime): Promise<Array<[string, CompileTarget]>> {
  const detected = await rt.target();
  return detected.nchwcBlock ? [['standard', STANDARD_TARGET], [`nchwc${detected.nchwcBlock}`, detected]] : [['standard', STANDARD_TARGET]];
}
