import { describeDatabaseError, redact } from '../src/errors.js';
import { safeText } from '../src/sanitize.js';

/** Retry delays after consecutive failures: 1, 2, 4, 8, 15, 15 … seconds. */
export function backoffMs(failures: number): number {
  return Math.min(15_000, 1000 * 2 ** Math.max(0, failures - 1));
}

/** One safe line about a database error, never a password or a stack. */
export function errorLine(error: unknown, target: string): string {
  return safeText(redact(describeDatabaseError(error, target)), 300);
}

export type Connection = { state: 'connecting' } | { state: 'up' } | { state: 'down'; error: string; retryAt: number; failures: number };

export function clockTime(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
