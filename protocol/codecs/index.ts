// The codec registry.
import type { CodecName, DeltaCodec } from './codec.js';
import { fp16 } from './fp16.js';
import { int8 } from './int8.js';
import { raw } from './raw.js';
import { topk } from './topk.js';

export const CODECS: Readonly<Record<CodecName, DeltaCodec>> = { raw, fp16, int8, topk };
export * from './codec.js';
