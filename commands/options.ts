import * as z from 'zod';
import { UsageError, quoted } from '../src/errors.js';
import { parseExecutionId } from '../src/core/ids.js';
import { parseDuration } from '../src/duration.js';
import type { InStream } from './io.js';

/** Validate commander's raw options with a zod schema; any issue is a one-line usage error (exit 2). */
export function validate<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const key = issue.path.map(String).join('.');
  const flag = key ? `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}` : 'input';
  throw new UsageError(issue.message.startsWith('--') ? issue.message : `${flag}: ${issue.message}`);
}

/** A duration flag (src/duration.ts): a bare number in `bareUnit`, or 90s/45m/2h/1d. Returns seconds. */
export function durationFlag(flag: string, bareUnit: 's' | 'm' | 'h', opts: { min?: number; max?: number; integerMinutes?: boolean } = {}) {
  return z.string().transform((raw, ctx) => {
    try {
      return parseDuration(flag, raw, bareUnit, opts);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });
}

/** A minutes flag: bare number = minutes, or 90s/45m/2h/1d. Returns seconds. */
export const minutesFlag = (flag: string, min = 0, opts: { integerMinutes?: boolean } = {}) => durationFlag(flag, 'm', { min, ...opts });

export const countFlag = (flag: string, max: number, min = 1) =>
  z.string().transform((raw, ctx) => {
    if (!/^\d{1,9}$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
      ctx.addIssue({ code: 'custom', message: `${flag}: expected a whole number from ${min} to ${max}; got ${quoted(raw, 60)}` });
      return z.NEVER;
    }
    return Number(raw);
  });

export const reasonFlag = z
  .string()
  .max(1000, '--reason: at most 1000 characters')
  .refine((v) => v.trim().length > 0, '--reason: must not be empty');

export { parseExecutionId };

/** Ids from arguments, or one a line from standard input when the only argument is `-`. */
export async function readIds(args: readonly string[], parseId: (raw: string) => string, stdin: InStream): Promise<string[]> {
  if (args.length === 1 && args[0] === '-') {
    if (stdin.isTTY) throw new UsageError('`-` reads ids from standard input, one a line: pipe them in');
    let text = '';
    for await (const chunk of stdin) text += chunk;
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    if (lines.length === 0) throw new UsageError('no execution ids on standard input');
    return lines.map(parseId);
  }
  if (args.length === 0) throw new UsageError('name at least one execution id (or `-` to read them from standard input)');
  if (args.includes('-')) throw new UsageError('`-` must be the only id argument');
  return args.map(parseId);
}
