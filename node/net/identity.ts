// A peer's identity key, persisted as JSON so a restarted peer keeps its peer id.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';

// @libp2p/crypto 5 carries a nested, type-only @libp2p/interface 3 whose key types are
// nominally different from the interface 2 that libp2p 2 expects; at run time they are the
// same objects, so they are converted once, here.
const asKey = (k: unknown): PrivateKey => k as PrivateKey;

interface KeyFile {
  readonly type: string;
  readonly privateKey: string;
}

/** Loads the key at `path`, or creates an Ed25519 key there (mode 0600). */
export async function loadOrCreateIdentity(path: string): Promise<{ key: PrivateKey; created: boolean }> {
  let text: string | undefined;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read identity file ${path}: ${(e as Error).message}`);
  }
  if (text !== undefined) {
    let parsed: KeyFile;
    try {
      parsed = JSON.parse(text) as KeyFile;
      if (typeof parsed.privateKey !== 'string') throw new Error('no privateKey');
      return { key: asKey(privateKeyFromProtobuf(Buffer.from(parsed.privateKey, 'base64'))), created: false };
    } catch (e) {
      throw new Error(`identity file ${path} is not a mergemesh key file (${(e as Error).message})`);
    }
  }
  const key = asKey(await generateKeyPair('Ed25519'));
  await mkdir(dirname(path), { recursive: true });
  const file: KeyFile = { type: key.type, privateKey: Buffer.from(privateKeyToProtobuf(key as Parameters<typeof privateKeyToProtobuf>[0])).toString('base64') };
  await writeFile(path, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return { key, created: true };
}
