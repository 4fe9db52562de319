import { UsageError } from './errors.js';

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/**
 * Parse a duration flag into seconds. A bare number is in `bareUnit`
 * (minutes for the age flags); a suffix s/m/h/d picks the unit.
 */
export function parseDuration(
  flag: string,
  raw: string,
  bareUnit: 's' | 'm' | 'h' = 'm',
  opts: { min?: number; integerMinutes?: boolean } = {},
): number {
  const text = raw.trim();
  const match = /^(\d{1,9}(?:\.\d{1,6})?)([smhd]?)$/.exec(text);
  if (!match) {
    throw new UsageError(`${flag}: expected a non-negative number (minutes) or a duration like 90s, 45m, 2h, 1d; got ${JSON.stringify(raw)}`);
  }
  const seconds = Number(match[1]) * UNIT_SECONDS[match[2] || bareUnit]!;
  if (!Number.isFinite(seconds) || seconds > 10 * 365 * 86400) {
    throw new UsageError(`${flag}: ${JSON.stringify(raw)} is too large (at most 10 years)`);
  }
  if (opts.min !== undefined && seconds < opts.min) {
    throw new UsageError(`${flag}: must be at least ${formatSeconds(opts.min)}; got ${JSON.stringify(raw)}`);
  }
  return seconds;
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
