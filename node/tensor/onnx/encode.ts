// Encodes an OnnxModel as ONNX protobuf bytes (field numbers from onnx/onnx.proto).
import { ONNX_ELEM_TYPE, bytesOf } from '../dtype.js';
import { ProtoWriter } from './protobuf.js';
import { irVersionFor, type OnnxAttr, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor, type OnnxValueInfo } from './model.js';

const ATTR_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_STRING = 3;
const ATTR_TENSOR = 4;
const ATTR_GRAPH = 5;
const ATTR_FLOATS = 6;
const ATTR_INTS = 7;

function writeTensor(w: ProtoWriter, t: OnnxTensor): void {
  if (t.dims.length) w.packedInts(1, t.dims);
  w.int(2, ONNX_ELEM_TYPE[t.dtype]);
  w.string(8, t.name);
  // raw_data is little-endian, which is what typed arrays hold on every platform Node supports.
  w.bytes(9, bytesOf(t.data));
}

function writeValueInfo(w: ProtoWriter, v: OnnxValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, ONNX_ELEM_TYPE[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function writeAttr(w: ProtoWriter, name: string, a: OnnxAttr): void {
  w.string(1, name);
  if ('f' in a) {
    w.float(2, a.f);
    w.int(20, ATTR_FLOAT);
  } else if ('i' in a) {
    w.int(3, a.i);
    w.int(20, ATTR_INT);
  } else if ('s' in a) {
    w.string(4, a.s);
    w.int(20, ATTR_STRING);
  } else if ('t' in a) {
    w.message(5, (tw) => writeTensor(tw, a.t));
    w.int(20, ATTR_TENSOR);
  } else if ('g' in a) {
    w.message(6, (gw) => writeGraph(gw, a.g));
    w.int(20, ATTR_GRAPH);
  } else if ('floats' in a) {
    w.packedFloats(7, a.floats);
    w.int(20, ATTR_FLOATS);
  } else {
    w.packedInts(8, a.ints);
    w.int(20, ATTR_INTS);
  }
}

function writeNode(w: ProtoWriter, n: OnnxNode): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  if (n.name) w.string(3, n.name);
  w.string(4, n.op);
  if (n.domain) w.string(7, n.domain);
  for (const [k, v] of Object.entries(n.attrs ?? {})) w.message(5, (aw) => writeAttr(aw, k, v));
}

function writeGraph(w: ProtoWriter, g: OnnxGraph): void {
  for (const n of g.nodes) w.message(1, (nw) => writeNode(nw, n));
  w.string(2, g.name);
  for (const t of g.initializers ?? []) w.message(5, (tw) => writeTensor(tw, t));
  for (const v of g.inputs) w.message(11, (vw) => writeValueInfo(vw, v));
  for (const v of g.outputs) w.message(12, (vw) => writeValueInfo(vw, v));
  for (const v of g.valueInfo ?? []) w.message(13, (vw) => writeValueInfo(vw, v));
}

/** Serialises a model to the bytes of an `.onnx` file. */
export function encodeModel(m: OnnxModel): Uint8Array {
  const w = new ProtoWriter(1 << 16);
  const mainOpset = m.opsets.find((o) => o.domain === '');
  if (!mainOpset) throw new Error('encodeModel: the default ONNX domain must be in opsets');
  w.int(1, m.irVersion ?? irVersionFor(mainOpset.version));
  w.string(2, m.producerName ?? 'mergemesh');
  if (m.producerVersion) w.string(3, m.producerVersion);
  if (m.docString) w.string(6, m.docString);
  w.message(7, (gw) => writeGraph(gw, m.graph));
  for (const o of m.opsets) {
    w.message(8, (ow) => {
      if (o.domain) ow.string(1, o.domain);
      ow.int(2, o.version);
    });
  }
  for (const [key, value] of Object.entries(m.metadata ?? {})) {
    w.message(14, (kv) => {
      kv.string(1, key);
      kv.string(2, value);
    });
  }
  return w.finish();
}
