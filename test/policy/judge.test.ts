import { describe, expect, it } from 'vitest';
import type { PolicyRuleConfig } from '../../src/config-file.js';
import { FilterError, matchFilter, parseFilter } from '../../src/core/filter-language.js';
import type { Execution } from '../../src/core/execution.js';
import { Policy } from '../../src/policy.js';
import { ThresholdCache, historyOf, ratioText, thresholdMap, withHistory, type Threshold, type ThresholdStore } from '../../src/core/thresholds.js';

const exec = (path: string, ageMinutes: number, idleMinutes: number | null = null): Execution =>
  ({ execution_id: '543857931469456637', path, age_seconds: ageMinutes * 60, idle_seconds: idleMinutes === null ? null : idleMinutes * 60 }) as Execution;
const t = (path: string, p95Minutes: number, samples = 20): Threshold => ({
  path,
  samples,
  median_seconds: p95Minutes * 50,
  p95_seconds: p95Minutes * 60,
  p99_seconds: p95Minutes * 70,
});
const rule = (r: Partial<PolicyRuleConfig> & Pick<PolicyRuleConfig, 'older_than' | 'action'>): PolicyRuleConfig => ({ match: '*', ...r });

describe('judging by a policy (src/policy.ts)', () => {
  const map = thresholdMap([t('etl/fast', 5), t('etl/slow', 60), t('etl/thin', 5, 2)]);

  it('the first matching rule judges; the ratio needs min_history runs, else older_than', () => {
    const p = new Policy([rule({ match: 'etl/slow', older_than: 600, action: 'report' }), rule({ older_than: 20 * 60, ratio: 3, min_history: 5, action: 'cancel' })]);
    expect(p.judge(exec('etl/fast', 25), map)).toMatchObject({ rule: 2, stuck: true, basis: 'ratio', threshold_seconds: 900 });
    expect(p.judge(exec('etl/fast', 14), map)).toMatchObject({ stuck: false, basis: 'ratio' });
    // Rule 1 matches etl/slow first: its 10 minutes judge, whatever rule 2 would say.
    expect(p.judge(exec('etl/slow', 25), map)).toMatchObject({ rule: 1, stuck: true, action: 'report', basis: 'older_than' });
    // Two runs are not history: older_than (20m) decides.
    expect(p.judge(exec('etl/thin', 19), map)).toMatchObject({ stuck: false, basis: 'older_than', threshold_seconds: 1200 });
    expect(p.judge(exec('etl/thin', 21), map)).toMatchObject({ stuck: true, basis: 'older_than' });
    expect(p.judge(exec('other', 21), map)?.why).toContain('no history: 0 of 5 runs');
  });

  it('idle must hold too; a rule matching nothing leaves an execution alone; globs match the whole path', () => {
    const p = new Policy([rule({ match: 'etl/*', older_than: 600, idle: 900, action: 'fail' })]);
    expect(p.judge(exec('etl/x', 60, 10), map)?.stuck).toBe(false);
    expect(p.judge(exec('etl/x', 60, 20), map)?.stuck).toBe(true);
    expect(p.judge(exec('etl/x', 60, null), map)?.stuck).toBe(true); // no event yet: idle is the age
    expect(p.judge(exec('xetl/x', 60, 60), map)).toBeNull();
    expect(p.stuck([exec('etl/x', 60, 20), exec('etl/y', 5, 5), exec('ml/z', 90, 90)], map).map((j) => j.execution.path)).toEqual(['etl/x']);
  });

  it('rows carry typical, p95 and ratio; "no history" below min_history', () => {
    expect(historyOf(exec('etl/fast', 25), map)).toEqual({ typical_seconds: 250, p95_seconds: 300, ratio: 5, history_samples: 20 });
    expect(historyOf(exec('etl/thin', 25), map)).toMatchObject({ ratio: null, history_samples: 2 });
    expect(ratioText(historyOf(exec('etl/fast', 20.5), map))).toBe('4.1x p95');
    expect(ratioText(historyOf(exec('nope', 25), map))).toBe('no history');
  });

  it('ratio terms in the filter language', () => {
    const rows = withHistory([exec('etl/fast', 25), exec('etl/slow', 25), exec('nope', 25)], map);
    const keep = (expr: string) => rows.filter((e) => matchFilter(parseFilter(expr), e)).map((e) => e.path);
    expect(keep('ratio>3')).toEqual(['etl/fast']);
    expect(keep('ratio<1')).toEqual(['etl/slow']);
    expect(keep('-ratio>3')).toEqual(['etl/slow', 'nope']);
    expect(keep('ratio>=5x')).toEqual(['etl/fast']);
    expect(() => parseFilter('ratio>lots')).toThrow(FilterError);
    expect(() => parseFilter('ratio=3')).toThrow(/compare with/);
  });
});

describe('the threshold cache (src/thresholds.ts)', () => {
  it('reads once per period, shares a read in flight, and starts from the store', async () => {
    let now = 1_000_000;
    let reads = 0;
    const read = async () => {
      reads++;
      return [t('a', 1)];
    };
    const kept = new Map<string, { at: number; rows: Threshold[] }>();
    const store: ThresholdStore = { get: async (k) => kept.get(k) ?? null, set: async (k, v) => void kept.set(k, v) };
    const cache = new ThresholdCache(read, 'k', 60_000, store, () => now);
    await Promise.all([cache.get(), cache.get()]);
    expect(reads).toBe(1);
    now += 30_000;
    await cache.get();
    expect(reads).toBe(1);
    now += 31_000;
    expect((await cache.get()).get('a')?.p95_seconds).toBe(60);
    expect(reads).toBe(2);
    // Another process with the same store: no read while the stored copy is fresh.
    const other = new ThresholdCache(read, 'k', 60_000, store, () => now + 1000);
    expect((await other.get()).has('a')).toBe(true);
    expect(reads).toBe(2);
  });
});
