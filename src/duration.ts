import { UsageError, quoted } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
const UNIT_NAME: Record<string, string> = { s: 'seconds', m: 'minutes', h: 'hours' };

/**
 * Parse a duration flag into seconds. A bare number is in `bareUnit`
 * (minutes for the age flags); a suffix ms/s/m/h/d picks the unit.
 * `integerMinutes` requires a whole number of minutes (NoETL's
 * older_than_minutes is an integer).
 */
export function parseDuration(flag: string, raw: string, bareUnit: 's' | 'm' | 'h' = 'm', opts: { min?: number; max?: number; integerMinutes?: boolean } = {}): number {
  const text = raw.trim();
  const match = /^(\d{1,9}(?:\.\d{1,6})?)(ms|[smhd]?)$/.exec(text);
  if (!match) {
    throw new UsageError(`${flag}: expected a non-negative number of ${UNIT_NAME[bareUnit]} or a duration like 90s, 45m, 2h, 1d; got ${quoted(raw, 60)}`);
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || bareUnit]!;
  const max = opts.max ?? 10 * 365 * 86400;
  if (!Number.isFinite(seconds) || seconds > max) {
    throw new UsageError(`${flag}: ${quoted(raw)} is too large (at most ${formatLimit(max)})`);
  }
  if (opts.min !== undefined && seconds < opts.min) {
    throw new UsageError(`${flag}: must be at least ${formatLimit(opts.min)}; got ${quoted(raw)}`);
  }
  if (opts.integerMinutes) {
    // 0.05h is 3 minutes, whatever binary floating point makes of it.
    const minutes = Math.round(seconds / 60);
    if (Math.abs(seconds / 60 - minutes) > 1e-6) {
      throw new UsageError(`${flag}: must be a whole number of minutes; got ${quoted(raw)}`);
    }
    return minutes * 60;
  }
  return seconds;
}

/** A limit in an error message: 100ms, 1s, 1m, 10 years. */
function formatLimit(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds >= 365 * 86400) return `${Math.round(seconds / (365 * 86400))} years`;
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return formatSeconds(seconds);
}

/** Compact human duration: 45s, 12m, 3h05m, 2d04h. */
export function formatSeconds(total: number | null | undefined): string {
  if (total === null || total === undefined || !Number.isFinite(total)) return '-';
  const s = Math.max(0, Math.floor(total));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  const d = Math.floor(h / 24);
  return `${d}d${String(h % 24).padStart(2, '0')}h`;
}

/** 45m, 3h, 2d: the coarse form used in diagnoses. */
export function formatCoarse(total: number): string {
  if (total < 3600) return `${Math.floor(total / 60)}m`;
  if (total < 86400) return `${Math.floor(total / 3600)}h`;
  return `${Math.floor(total / 86400)}d`;
}
