import { Chalk, type ChalkInstance } from 'chalk';

/**
 * Colour only on a TTY, never with NO_COLOR (any non-empty value) or
 * --no-color. chalk 5 does not read NO_COLOR itself.
 */
export function colorEnabled(stream: { isTTY?: boolean }, flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR === '0') return false;
  return Boolean(stream.isTTY);
}

export function makeChalk(enabled: boolean): ChalkInstance {
  return new Chalk({ level: enabled ? 1 : 0 });
}
