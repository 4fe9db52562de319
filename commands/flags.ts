/**
 * Flags declared once: each is its commander option (name, help, default)
 * and its zod field (how the raw text is checked and parsed) together. A
 * command lists the flags it takes; its options and its schema both come
 * from that list, so the two cannot drift apart.
 */
import { Option, type Command } from 'commander';
import * as z from 'zod';
import type { HealthConfig } from '../src/config-file.js';
import { countFlag, minutesFlag, reasonFlag } from './options.js';

export interface Flag<K extends string = string, S extends z.ZodType = z.ZodType> {
  key: K;
  option: Option;
  schema: S;
}

function define<K extends string, S extends z.ZodType>(key: K, flags: string, help: string, schema: S, defaultValue?: string | null): Flag<K, S> {
  const option = new Option(flags, help);
  if (defaultValue !== undefined && defaultValue !== null) option.default(defaultValue);
  return { key, option, schema };
}

/** Add the flags' options to a command. */
export function addFlags(cmd: Command, flags: readonly Flag[]): Command {
  for (const f of flags) cmd.addOption(f.option);
  return cmd;
}

type Shape<F extends readonly Flag[]> = { [E in F[number] as E['key']]: E['schema'] };

/** The zod fields of the flags, to spread into a command's z.object. */
export function fieldsOf<const F extends readonly Flag[]>(flags: F): Shape<F> {
  return Object.fromEntries(flags.map((f) => [f.key, f.schema])) as Shape<F>;
}

/** --older-than: what counts as stuck. Minutes, or 90s/2h/1d (src/duration.ts); null: no default. */
export const olderThan = (help = 'what counts as stuck', defaultValue: string | null = '5') =>
  define('olderThan', '--older-than <minutes>', help, minutesFlag('--older-than'), defaultValue);

/** --long-running: what counts as long-running. */
export const longRunning = (help = 'what counts as long-running') => define('longRunning', '--long-running <minutes>', help, minutesFlag('--long-running'), '60');

/** --idle: and no event at all for this long. */
export const idle = (help = 'and no event at all for this long') => define('idle', '--idle <minutes>', help, minutesFlag('--idle').optional());

export const reason = (help: string, defaultValue?: string) =>
  define('reason', '--reason <text>', help, defaultValue === undefined ? reasonFlag.optional() : reasonFlag, defaultValue);

export const warningLongRunning = define(
  'warningLongRunning',
  '--warning-long-running <n>',
  'warning when more than n executions run longer than --long-running',
  countFlag('--warning-long-running', 1_000_000, 0),
  '5',
);

export const criticalLongRunning = define(
  'criticalLongRunning',
  '--critical-long-running <n>',
  'critical when more than n executions run longer than --long-running',
  countFlag('--critical-long-running', 1_000_000, 0),
  '20',
);

export const json = (help = 'JSON for scripts') => define('json', '--json', help, z.boolean().default(false));

export interface Thresholds {
  olderThan: number;
  longRunning: number;
  warningLongRunning?: number;
  criticalLongRunning?: number;
}

/**
 * The one precedence rule of a setting: the flag given on the command line,
 * then the config file, then the environment, then the flag's default.
 */
export function pick<T>(cmd: Command, key: string, flag: T, fromConfig: T | undefined, fromEnv?: T): T {
  if (cmd.getOptionValueSource(key) === 'cli') return flag;
  return fromConfig ?? fromEnv ?? flag;
}

/** The thresholds of `health` and `metrics`: flags, else the config's health section, else defaults. */
export function thresholds<T extends Thresholds>(cmd: Command, o: T, cfg: HealthConfig | undefined): T {
  const out: T = {
    ...o,
    olderThan: pick(cmd, 'olderThan', o.olderThan, cfg?.stuck_seconds),
    longRunning: pick(cmd, 'longRunning', o.longRunning, cfg?.long_running_seconds),
  };
  if (o.warningLongRunning !== undefined) out.warningLongRunning = pick(cmd, 'warningLongRunning', o.warningLongRunning, cfg?.warning_long_running);
  if (o.criticalLongRunning !== undefined) out.criticalLongRunning = pick(cmd, 'criticalLongRunning', o.criticalLongRunning, cfg?.critical_long_running);
  return out;
}
