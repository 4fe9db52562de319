import { UsageError, quoted } from '../errors.js';

const MAX_BIGINT = 9223372036854775807n;

/** NoETL execution ids: positive integers that fit a bigint, kept as strings (they exceed 2^53). */
export function parseExecutionId(raw: string): string {
  const text = raw.trim();
  if (!/^[0-9]{1,19}$/.test(text) || BigInt(text) < 1n || BigInt(text) > MAX_BIGINT) {
    const shown = quoted(raw, 60);
    throw new UsageError(`invalid execution id ${shown}: expected a positive integer`);
  }
  return BigInt(text).toString();
}
