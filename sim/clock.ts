// A virtual clock for running many agents' coroutines deterministically. Agents do real work
// (training, merging) in real time, but time on the clock only advances when every agent is
// blocked on it (sleeping, or waiting for a condition); then the earliest event fires. Events
// at the same time fire in the order of a key the caller gives (e.g. agent index and a
// per-agent counter), never in the order real work happened to finish, so a run replays
// exactly whatever the machine's speed.

export interface EventKey {
  /** Smaller first among events at the same time. */
  readonly owner: number;
  readonly seq: number;
}

interface Event {
  readonly t: number;
  readonly key: EventKey;
  readonly fire: () => void;
}

interface Waiter {
  readonly cond: () => boolean;
  readonly deadline: number;
  readonly owner: number;
  readonly resolve: (ok: boolean) => void;
}

export interface VirtualClock {
  now(): number;
  /** Schedules `fire` at time `t` (≥ now). */
  at(t: number, key: EventKey, fire: () => void): void;
  /** Blocks the calling coroutine for `dt` seconds of virtual time. */
  sleep(dt: number, key: EventKey): Promise<void>;
  /** Blocks until `cond()` holds (checked as events fire) or `timeout` seconds pass; true if it held. */
  waitFor(cond: () => boolean, timeout: number, owner: number): Promise<boolean>;
  /** Runs the coroutines to completion under the clock. */
  run(tasks: ReadonlyArray<() => Promise<void>>): Promise<void>;
}

export function createVirtualClock(): VirtualClock {
  let now = 0;
  const queue: Event[] = [];
  let waiters: Waiter[] = [];
  let active = 0;
  let running = false;
  let failure: unknown;
  let finish: (() => void) | undefined;
  let scheduled = false;

  const before = (a: Event, b: Event) => a.t < b.t || (a.t === b.t && (a.key.owner < b.key.owner || (a.key.owner === b.key.owner && a.key.seq < b.key.seq)));
  const push = (e: Event) => {
    // A binary heap would do; queues here hold a few events per agent.
    let i = queue.length;
    queue.push(e);
    while (i > 0 && before(e, queue[i - 1])) {
      queue[i] = queue[i - 1];
      i--;
    }
    queue[i] = e;
  };

  const wake = (w: Waiter, ok: boolean) => {
    active++;
    w.resolve(ok);
  };

  /** Fires due conditions; true if some coroutine woke. */
  const checkWaiters = (): boolean => {
    let woke = false;
    const keep: Waiter[] = [];
    // Waiters are woken in owner order, so their continuations are queued deterministically.
    for (const w of [...waiters].sort((a, b) => a.owner - b.owner)) {
      if (w.cond()) {
        wake(w, true);
        woke = true;
      } else if (w.deadline <= now) {
        wake(w, false);
        woke = true;
      } else keep.push(w);
    }
    waiters = keep;
    return woke;
  };

  const advance = () => {
    scheduled = false;
    if (!running || active > 0) return;
    if (checkWaiters()) return;
    for (;;) {
      const nextEvent = queue.length ? queue[0].t : Infinity;
      const nextDeadline = waiters.reduce((m, w) => Math.min(m, w.deadline), Infinity);
      const t = Math.min(nextEvent, nextDeadline);
      if (t === Infinity) {
        if (waiters.length) failure ??= new Error('virtual clock: every agent waits and nothing is scheduled (deadlock)');
        finish?.();
        return;
      }
      now = Math.max(now, t);
      while (queue.length && queue[0].t <= now) queue.shift()!.fire();
      if (checkWaiters() || active > 0) return;
    }
  };

  const block = () => {
    active--;
    if (active === 0 && !scheduled) {
      scheduled = true;
      // Let promise continuations settle first: a coroutine may be about to become active.
      setImmediate(advance);
    }
  };

  const clock: VirtualClock = {
    now: () => now,
    at(t, key, fire) {
      push({ t: Math.max(t, now), key, fire });
    },
    sleep(dt, key) {
      return new Promise<void>((resolve) => {
        let fired = false;
        clock.at(now + Math.max(0, dt), key, () => (fired = true));
        waiters.push({ cond: () => fired, deadline: Infinity, owner: key.owner, resolve: () => resolve() });
        block();
      });
    },
    waitFor(cond, timeout, owner) {
      if (cond()) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        waiters.push({ cond, deadline: now + timeout, owner, resolve });
        block();
      });
    },
    async run(tasks) {
      running = true;
      active = tasks.length;
      const done = new Promise<void>((r) => (finish = r));
      const all = tasks.map((task) =>
        task()
          .catch((e: unknown) => {
            failure ??= e;
          })
          .finally(() => block()),
      );
      await Promise.race([Promise.all(all), done]);
      running = false;
      if (failure) throw failure;
    },
  };
  return clock;
}
