import { randomInt } from 'node:crypto';

// Used only when the database has no noetl.snowflake_id(). Layout: 41 bits of
// milliseconds since 2020-01-01, 10 random bits per process, 12 bits sequence.
// The primary key is (execution_id, event_id), so a fresh id only has to be
// unique within one execution; never MAX(event_id)+1, which races.
const EPOCH = 1_577_836_800_000n;
const node = BigInt(randomInt(0, 1024));
let lastMs = 0n;
let sequence = 0n;

export function nextSnowflake(now: number = Date.now()): string {
  let ms = BigInt(now) - EPOCH;
  if (ms <= lastMs) {
    sequence = (sequence + 1n) & 0xfffn;
    if (sequence === 0n) lastMs += 1n;
    ms = lastMs;
  } else {
    sequence = 0n;
    lastMs = ms;
  }
  return ((ms << 22n) | (node << 12n) | sequence).toString();
}
