import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter, matchFilter, FilterError } from '../../src/core/filter-language.js';
import { backends } from '../helpers/db.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';
import { seedIncident, type IncidentIds } from '../ui/seed.js';
import type { Execution } from '../../src/core/execution.js';

describe('the filter language (src/core/filter-language.ts)', () => {
  const e = (over: Partial<Execution>): Execution =>
    ({
      source: 'noetl',
      execution_id: '543857931469456637',
      path: 'etl/nightly_batch',
      age_seconds: 5400,
      idle_seconds: 1800,
      diagnosis: 'worker dead',
      worker_id: 'w-dead',
      stuck_step: 'load',
      last_step: 'extract',
      ...over,
    }) as Execution;
  const m = (expr: string, over: Partial<Execution> = {}) => matchFilter(parseFilter(expr), e(over));

  it('bare words match path or id, as a substring or a glob; terms AND together; - negates', () => {
    expect(m('')).toBe(true);
    expect(m('NIGHTLY')).toBe(true);
    expect(m('456637')).toBe(true);
    expect(m('etl/*_batch')).toBe(true);
    expect(m('nightly*')).toBe(false); // a glob matches the whole path
    expect(m('nightly hourly')).toBe(false);
    expect(m('nightly -hourly')).toBe(true);
  });

  it('key:value terms and age / idle comparisons', () => {
    expect(m('diag:"worker dead"')).toBe(true);
    expect(m('diag:"never claimed"')).toBe(false);
    expect(m('worker:w-dead step:load')).toBe(true);
    expect(m('step:extract')).toBe(true); // the last step done counts too
    expect(m('worker:w-live')).toBe(false);
    expect(m('-worker:w-live')).toBe(true);
    expect(m('tenant:acme', { source: 'status-table', display: { tenant: 'acme' } })).toBe(true);
    expect(m('tenant:acme')).toBe(false);
    expect(m('age>1h idle>=30m')).toBe(true);
    expect(m('age>2h')).toBe(false);
    expect(m('idle<30')).toBe(false); // bare numbers are minutes
  });

  it('a bad expression names the offending term', () => {
    const bad = (expr: string) => {
      try {
        parseFilter(expr);
      } catch (err) {
        expect(err).toBeInstanceOf(FilterError);
        return (err as Error).message;
      }
      throw new Error(`${expr} parsed`);
    };
    expect(bad('nightly colour:red')).toContain('term "colour:red": unknown key "colour"');
    expect(bad('age>abc')).toContain('term "age>abc"');
    expect(bad('age=2h')).toContain('term "age=2h": compare with > >= < <=');
    expect(bad('diag:"worker dead')).toContain('unclosed quote');
    expect(bad('worker:')).toContain('term "worker:": worker: needs a value');
  });
});

describe.each(backends())('list --filter on %s', (backend) => {
  let d: CliDatabase;
  let inc: IncidentIds;
  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      inc = await seedIncident(db, schema);
    });
  });
  afterAll(async () => d?.close());
  const ids = async (expr: string, extra: string[] = []) => {
    const r = await runCli(['list', '--filter', expr, '--json', ...extra, ...d.args]);
    expect(r.code, show(r)).toBe(0);
    return (jsonOf(r).executions as { execution_id: string }[]).map((x) => x.execution_id).sort();
  };

  it('selects with the same expressions as the console', async () => {
    expect(await ids('nightly_batch')).toEqual([...inc.parents].sort());
    expect(await ids('diag:"worker dead" worker:w-dead age>1h')).toEqual([...inc.parents].sort());
    expect(await ids('etl/*_load', ['--include-children'])).toEqual([...inc.children].sort());
    expect(await ids('age>3h')).toEqual([inc.others[2]!]);
    expect(await ids('-nightly')).toEqual([...inc.others].sort());
    expect(await ids('nightly_batch', ['--limit', '5'])).toHaveLength(5);
  }, 240_000); // six spawns; PGlite opens slowly on a loaded machine

  it('refuses a bad expression with exit 2 and one line naming the term', async () => {
    for (const [expr, words] of [
      ['nightly colour:red', 'term "colour:red"'],
      ['age>soon', 'term "age>soon"'],
      ['diag:"worker dead', 'unclosed quote'],
    ] as const) {
      const r = await runCli(['list', '--filter', expr, ...d.args]);
      expect(r.code, show(r)).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n'), show(r)).toHaveLength(1);
      expect(r.stderr).toContain('--filter: ');
      expect(r.stderr).toContain(words);
    }
  });
});
