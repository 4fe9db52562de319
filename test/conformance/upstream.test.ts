/**
 * On a database built from NoETL's own, unmodified DDL (noetl/noetl
 * schema_ddl.sql, applied after CREATE SCHEMA noetl): every command works,
 * every row the console writes is accepted (the result-shape CHECK, the
 * catalog foreign keys, the projection's NOT NULLs), and the readers agree.
 * The DDL is never kept in this repository: the test reads it from
 * NOETL_UPSTREAM_DDL or a git mirror of noetl/noetl, and skips, saying why,
 * when there is none.
 */
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { Queryable } from '../../src/db/database.js';
import { Scenario } from '../fixtures/scenario.js';
import { jsonOf, runCli, show } from '../helpers/cli.js';
import { postgresEnabled } from '../helpers/db.js';
import { upstreamDdl, upstreamDdlSource, withUpstreamDatabase } from '../helpers/upstream-ddl.js';
import { READERS, readAll, type ClosedState } from './readers.js';

const available = postgresEnabled() && upstreamDdl() !== null;
const why = postgresEnabled() ? upstreamDdlSource() : 'NOETL_TEST_BACKENDS has no postgres';

describe.skipIf(!available)(`NoETL's own DDL (${why})`, () => {
  it('every command works on it, every row the console writes is accepted, and the readers agree', async () => {
    await withUpstreamDatabase(async (url) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const q = client as unknown as Queryable;
      const ids: Record<string, string> = {};
      try {
        const s = new Scenario(480000000000000000n);
        s.worker('worker-dead', 3600);
        const py = s.execution({ path: 'up/py', startedMinutesAgo: 120 }).step('a', 110).issued('b', 100);
        ids.py = py.id;
        ids.pyChild = s.execution({ path: 'up/py-child', startedMinutesAgo: 110, parent: py }).claimed('x', 100, 'worker-dead').id;
        ids.rs = s.execution({ path: 'up/rs', dialect: 'rust', startedMinutesAgo: 120 }).claimed('run', 100, 'worker-dead').id;
        ids.acme = s.execution({ path: 'up/acme', startedMinutesAgo: 120, tenant: 'acme', organization: 'acme-eu' }).issued('b', 100).id;
        ids.done = s.execution({ path: 'up/done', startedMinutesAgo: 120 }).step('end', 100).id;
        ids.sweep = s.execution({ path: 'up/sweep', dialect: 'rust', startedMinutesAgo: 120 }).issued('b', 100).id;
        await s.apply(q, 'noetl');
        const args = ['--database-url', url, '--schema', 'noetl'];
        const cli = async (argv: string[], code = 0) => {
          const r = await runCli([...argv, ...args]);
          expect(r.code, show(r)).toBe(code);
          return r;
        };

        const listed = jsonOf(await cli(['list', '--older-than', '10', '--include-children', '--json']));
        expect(listed.executions.map((e: { execution_id: string }) => e.execution_id).sort()).toEqual([ids.py, ids.pyChild, ids.rs, ids.acme, ids.done, ids.sweep].sort());
        expect(jsonOf(await cli(['show', ids.py!, '--json']))).toMatchObject({ execution_id: ids.py, state: 'running' });
        await cli(['health', '--json', '--warning-long-running', '1000000', '--critical-long-running', '1000000']);
        await cli(['metrics']);
        await cli(['cleanup', '--older-than', '10', '--path', 'up/sweep', '--dry-run', '--json']);

        const closes: [string, ClosedState][] = [];
        const cancelled = jsonOf(await cli(['cancel', ids.py!, '--cascade', '--reason', 'upstream', '--json']));
        expect(cancelled.changed_count).toBe(2);
        closes.push([ids.py!, 'cancelled'], [ids.pyChild!, 'cancelled']);
        expect(jsonOf(await cli(['fail', ids.rs!, ids.acme!, '--reason', 'upstream', '--json'])).changed_count).toBe(2);
        closes.push([ids.rs!, 'failed'], [ids.acme!, 'failed']);
        expect(jsonOf(await cli(['complete', ids.done!, '--reason', 'upstream', '--json'])).changed_count).toBe(1);
        closes.push([ids.done!, 'completed']);
        expect(jsonOf(await cli(['cleanup', '--older-than', '10', '--path', 'up/sweep', '--json'])).cancelled_count).toBe(1);
        closes.push([ids.sweep!, 'cancelled']);

        const projected = new Set((await client.query<{ id: string }>(`SELECT execution_id::text AS id FROM noetl.execution`)).rows.map((r) => r.id));
        const failedRow = new Set<string>();
        const verdicts = await readAll(
          q,
          'noetl',
          closes.map(([id]) => id),
        );
        const wrong = READERS.flatMap((reader) =>
          closes
            .map(([id, state]) => ({
              id,
              got: verdicts.get(reader.name)!.get(id),
              want: reader.expect(state, { hasProjection: projected.has(id), hasFailedRow: failedRow.has(id) }),
            }))
            .filter((x) => x.got !== x.want)
            .map((x) => `${reader.name} on ${x.id}: ${x.got}, want ${x.want}`),
        );
        expect(wrong).toEqual([]);
        const { rows: acme } = await client.query(`SELECT DISTINCT tenant_id, organization_id FROM noetl.event WHERE execution_id = $1 AND meta->>'emitted_by' = 'noetl-console'`, [
          ids.acme,
        ]);
        expect(acme).toEqual([{ tenant_id: 'acme', organization_id: 'acme-eu' }]);
        // A second close of any of them writes nothing.
        await cli(['cancel', ids.py!, ids.rs!, ids.done!], 3);
      } finally {
        await client.end();
      }
    });
  }, 300_000);
});
