/**
 * The console filters what the previous keystroke kept when the new filter
 * only narrows it (src/core/filter-language.ts `narrows`): that must never
 * change what is shown.
 */
import { describe, expect, it } from 'vitest';
import { matchFilter, narrows, parseFilter } from '../../src/core/filter-language.js';
import type { Execution } from '../../src/core/execution.js';
import { prng } from '../helpers/reliability.js';

const row = (i: number, path: string, diagnosis: string, age: number): Execution =>
  ({
    source: 'noetl',
    execution_id: String(543857931469455628n + BigInt(i)),
    path,
    diagnosis,
    age_seconds: age,
    idle_seconds: age,
    worker_id: null,
    stuck_step: null,
    last_step: null,
  }) as Execution;

describe('narrows: a filter typed on keeps a subset', () => {
  it('says so for words typed on and terms added, never when unsure', () => {
    const n = (a: string, b: string) => narrows(parseFilter(a), parseFilter(b));
    expect(n('etl', 'etl/o')).toBe(true);
    expect(n('etl', 'xetl')).toBe(true);
    expect(n('etl', 'etl nightly')).toBe(true);
    expect(n('path:etl', 'path:etl/orders')).toBe(true);
    expect(n('', 'anything')).toBe(true);
    expect(n('-etl', '-etl2')).toBe(false); // a longer exclusion keeps more
    expect(n('et*', 'et*l')).toBe(false);
    expect(n('path:etl', 'diag:etl')).toBe(false);
    expect(n('age>1h', 'age>10h')).toBe(false);
    expect(n('etl x', 'etl')).toBe(false);
    expect(n('Etl', 'etl/o')).toBe(false);
  });

  it('filtering what the previous filter kept equals filtering every row', () => {
    const rnd = prng(Number(process.env.NOETL_TEST_SEED ?? 7));
    const words = ['etl', 'etl/orders', 'ml', 'ml/train', 'orders', 'o', 'never', 'worker', 'idle'];
    const rows = Array.from({ length: 400 }, (_, i) =>
      row(i, `${words[Math.floor(rnd() * words.length)]}/${i % 7}`, ['never claimed', 'worker dead', 'idle 2h'][i % 3]!, Math.floor(rnd() * 7200)),
    );
    const pick = () => words[Math.floor(rnd() * words.length)]!;
    let checked = 0;
    for (let k = 0; k < 2000; k++) {
      const a = [pick(), rnd() < 0.3 ? `-${pick()}` : '', rnd() < 0.3 ? `diag:${pick()}` : ''].filter(Boolean).join(' ');
      const b = rnd() < 0.5 ? `${a}${pick().slice(0, 2)}` : `${a} ${rnd() < 0.5 ? pick() : `age>${Math.floor(rnd() * 90)}m`}`;
      const prev = parseFilter(a);
      const next = parseFilter(b);
      if (!narrows(prev, next)) continue;
      checked++;
      const kept = rows.filter((e) => matchFilter(prev, e));
      expect(
        kept.filter((e) => matchFilter(next, e)),
        `${a} -> ${b}`,
      ).toEqual(rows.filter((e) => matchFilter(next, e)));
    }
    expect(checked).toBeGreaterThan(500);
  });
});
