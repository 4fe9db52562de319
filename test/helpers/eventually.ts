/**
 * Wait for something another process, session or render loop does, by
 * polling. The limit is a safety net that turns a hang into a message, never
 * an assertion on speed (speed goes in bench/).
 */

export interface EventuallyOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Pause between tries (default 20 ms). */
  intervalMs?: number;
  /** More to say when it gives up, e.g. the last screen. */
  detail?: () => string;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Call `fn` until it returns a truthy value, and return that; throws naming `what` after timeoutMs. */
export async function eventually<T>(
  what: string,
  fn: () => T | null | undefined | false | '' | 0 | Promise<T | null | undefined | false | '' | 0>,
  opts: EventuallyOptions = {},
): Promise<T> {
  const { timeoutMs = 30_000, intervalMs = 20, detail } = opts;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${detail ? `\n${detail()}` : ''}`);
    await sleep(intervalMs);
  }
}
