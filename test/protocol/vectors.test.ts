// Test vectors of docs/protocol.md: the exact bytes and hashes another implementation must
// produce. A change here is a wire-format change (and needs a new protocol version).
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { CODECS, CODEC_NAMES } from '../../protocol/codecs/index.js';
import { canonicalJson, modelHash, stateHash } from '../../protocol/hash.js';
import { decodeGossip, decodeStream, encodeMessage } from '../../protocol/messages.js';

const DEF = { kind: 'mlp', input: [1, 2, 2], hidden: [2], classes: 2 };
const A = new Float32Array([0.5, -1, 0.25, 2, 0, 1, -0.5, 0.125, 1, 2, 3, 4, 5, 6, 7, 8]);
const B = A.map((x, i) => x + (i - 8) / 64);
const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
const OPTS = { block: 8, fraction: 0.25 };

const VECTORS = {
  canonical: '{"classes":2,"hidden":[2],"input":[1,2,2],"kind":"mlp"}',
  modelHash: 'dd430ee053fdeb674f34c2d611d753d1db45d6c038dbd4d8126fbf6c5a81a036',
  stateA: 'e36d060c1012883c5351ce3dd60c223c4c917bd3ddd681073ddf15cfc417c169',
  payloads: {
    raw: '0000c00100000e000000a0000000f67f000080bd0000f400000008000000e0030000000000000100000002000080010000000200008002000000030000c00100',
    fp16: '00b000af00ae00ad00ac00aa00a800a4000000240028002a002c002d002e002f',
    int8: '080000000402813a87c3613a8191a1b1c0d0e0f000122436495b6d7f',
    topk: '040000000000000001000000020000000f000000000000be0000e0bd0000c0bd0000e03d',
  },
  results: {
    raw: '1809cff100ff87e90ddaefd70ab37d44eae0ac99e57df2de8219582caf273914',
    fp16: '1809cff100ff87e90ddaefd70ab37d44eae0ac99e57df2de8219582caf273914',
    int8: '2e1f2d2d1884d6c033603be2861d34ccf5424d5f70c0f3f863e8ab5115ff33ce',
    topk: 'b5f246e136ccf654be795daf9998a0cd4bb9dc4c242c541a260c67e89ce62144',
  },
  announce:
    '8aa17601a174a8616e6e6f756e6365a372756ea464656d6fa373657101a468617368d94032653166326432643138383464366330333336303362653238363164333463636635343234643566373063306633663836336538616235313135666633336365a6706172656e74d94065333664303630633130313238383363353335316365336464363063323233633463393137626433646464363831303733646466313563666334313763313639a26d68d94064643433306565303533666465623637346633346332643631316437353364316462343564366330333864626434643831323666626636633561383161303336a16e10a76d65747269637381a3616363cb3fe0000000000000a564656c746183a5636f646563a4696e7438a462617365d94065333664303630633130313238383363353335316365336464363063323233633463393137626433646464363831303733646466313563666334313763313639a77061796c6f6164c41c080000000402813a87c3613a8191a1b1c0d0e0f000122436495b6d7f',
} as const;

describe('protocol test vectors', () => {
  it('hashes: canonical JSON, model hash, state hash', () => {
    expect(canonicalJson({ input: [1, 2, 2], kind: 'mlp', classes: 2, hidden: [2] })).toBe(VECTORS.canonical);
    expect(modelHash(DEF)).toBe(VECTORS.modelHash);
    expect(stateHash(DEF, A)).toBe(VECTORS.stateA);
  });

  it('codec payloads and the versions they decode to', () => {
    for (const c of CODEC_NAMES) {
      const payload = CODECS[c].encode(A, B, OPTS);
      expect(hex(payload), c).toBe(VECTORS.payloads[c]);
      // Decoding the documented bytes gives the documented version.
      expect(stateHash(DEF, CODECS[c].apply(A, Buffer.from(VECTORS.payloads[c], 'hex'))), c).toBe(VECTORS.results[c]);
    }
  });

  it('an announcement with an inline int8 delta, byte for byte', () => {
    const payload = CODECS.int8.encode(A, B, OPTS);
    const msg = {
      v: 1,
      t: 'announce',
      run: 'demo',
      seq: 1,
      hash: VECTORS.results.int8,
      parent: VECTORS.stateA,
      mh: VECTORS.modelHash,
      n: 16,
      metrics: { acc: 0.5 },
      delta: { codec: 'int8', base: VECTORS.stateA, payload },
    } as const;
    expect(hex(encodeMessage(msg))).toBe(VECTORS.announce);
    const d = decodeGossip(Buffer.from(VECTORS.announce, 'hex'), 'demo');
    expect(d.ok).toBe(true);
    if (d.ok && d.msg.t === 'announce') expect(stateHash(DEF, CODECS.int8.apply(A, d.msg.delta!.payload))).toBe(d.msg.hash);
  });

  it('binary fields must be msgpack bin: extension types holding bytes are refused', () => {
    const packr = new Packr({ moreTypes: true, useRecords: false });
    const asExt = packr.pack({ t: 'chunk', i: 0, data: new Uint8Array([1, 2, 3]) });
    expect(hex(asExt)).toContain('c70474'); // msgpackr's typed-array extension
    expect(decodeStream(asExt)).toMatchObject({ ok: false, reason: 'bad-field' });
    expect(decodeStream(encodeMessage({ t: 'chunk', i: 0, data: new Uint8Array([1, 2, 3]) }))).toMatchObject({ ok: true });
  });
});
