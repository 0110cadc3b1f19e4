// User mistakes (bad flags, missing files, wrong shapes) are reported as one clear line,
// never as a stack trace; unexpected failures keep their stack under MERGEMESH_DEBUG=1.

export class UserError extends Error {
  override readonly name = 'UserError';
}

/** Runs a command body, turning every error into a message and an exit code. */
export async function runCommand(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    process.stderr.write(`mergemesh: error: ${err.message}\n`);
    if (process.env.MERGEMESH_DEBUG && err.stack) process.stderr.write(`${err.stack}\n`);
    process.exitCode = err instanceof UserError ? 2 : 1;
  }
}
