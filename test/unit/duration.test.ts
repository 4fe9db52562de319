/** Durations (src/duration.ts): the flags' parser and the compact form the tables show. */
import { describe, expect, it } from 'vitest';
import { formatSeconds, parseDuration } from '../../src/duration.js';
import { UsageError } from '../../src/errors.js';

describe('parseDuration', () => {
  it('a bare number is in the bare unit; ms s m h d suffixes pick their own', () => {
    expect(parseDuration('--older-than', '5')).toBe(300);
    expect(parseDuration('--refresh', '5', 's')).toBe(5);
    expect(parseDuration('--x', '2', 'h')).toBe(7200);
    expect(parseDuration('--x', '1500ms')).toBe(1.5);
    expect(parseDuration('--x', '90s')).toBe(90);
    expect(parseDuration('--x', '45m')).toBe(2700);
    expect(parseDuration('--x', '1.5h')).toBe(5400);
    expect(parseDuration('--x', ' 1d ')).toBe(86400);
    expect(parseDuration('--x', '0')).toBe(0);
  });

  it('refuses what is not a non-negative duration, naming the flag and the value', () => {
    for (const bad of ['', 'abc', '-5', '5 m', '5w', '1e3', '0x10', '5mm', '.5']) {
      expect(() => parseDuration('--older-than', bad), JSON.stringify(bad)).toThrow(UsageError);
    }
    expect(() => parseDuration('--older-than', 'abc')).toThrow(/^--older-than: expected a non-negative number of minutes or a duration like 90s, 45m, 2h, 1d; got "abc"$/);
  });

  it('bounds: at most 10 years by default, or the given max and min', () => {
    expect(() => parseDuration('--x', '3651d')).toThrow(/too large \(at most 10 years\)/);
    expect(() => parseDuration('--refresh', '2h', 's', { max: 3600 })).toThrow(/at most 1h/);
    expect(() => parseDuration('--refresh', '50ms', 's', { min: 0.1 })).toThrow(/must be at least 100ms/);
    expect(parseDuration('--refresh', '100ms', 's', { min: 0.1 })).toBe(0.1);
  });

  it('integerMinutes: whole minutes only, whatever floating point makes of 0.05h', () => {
    expect(parseDuration('--x', '0.05h', 'm', { integerMinutes: true })).toBe(180);
    expect(parseDuration('--x', '120s', 'm', { integerMinutes: true })).toBe(120);
    expect(() => parseDuration('--x', '90s', 'm', { integerMinutes: true })).toThrow(/whole number of minutes/);
  });
});

describe('formatSeconds', () => {
  it('45s, 12m, 3h05m, 2d04h; floors, and shows - for nothing', () => {
    expect(formatSeconds(45.9)).toBe('45s');
    expect(formatSeconds(0)).toBe('0s');
    expect(formatSeconds(-5)).toBe('0s');
    expect(formatSeconds(12 * 60 + 59)).toBe('12m');
    expect(formatSeconds(3 * 3600 + 5 * 60)).toBe('3h05m');
    expect(formatSeconds(2 * 86400 + 4 * 3600 + 59 * 60)).toBe('2d04h');
    expect(formatSeconds(null)).toBe('-');
    expect(formatSeconds(undefined)).toBe('-');
    expect(formatSeconds(Number.NaN)).toBe('-');
    expect(formatSeconds(Number.POSITIVE_INFINITY)).toBe('-');
  });
});
