/**
 * Concurrent marks from separate connections never update a row twice:
 * the conditional UPDATE re-checks the status under the row lock. Only a
 * real PostgreSQL has a second session, so this runs there.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Database } from '../../src/db/database.js';
import { openPostgres } from '../../src/db/postgres.js';
import { StatusTableSource } from '../../src/status-table/source.js';
import { POSTGRES_URL, adminClient, createTestDatabase, describePostgres, type TestDatabase } from '../helpers/db.js';
import { eventually } from '../helpers/eventually.js';
import { FILE, RUN, RUNS_CONFIG, markRequest, seedRuns, sourcesFrom } from './fixtures.js';
import type { MarkResult } from '../../src/core/mark.js';

/** A deterministic shuffle (mulberry32), so a failure replays. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  let a = seed;
  const random = () => {
    a = (a + 0x6d2b79f5) | 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describePostgres('concurrent marks on PostgreSQL', () => {
  let t: TestDatabase;
  const opened: Database[] = [];
  const consoles = (n: number) =>
    Array.from({ length: n }, () => {
      const db = openPostgres({
        target: { kind: 'postgres', connectionString: POSTGRES_URL, label: '127.0.0.1:5432/test' },
        schema: t.schema,
        readOnly: false,
        statementTimeoutMs: 60_000,
        connectTimeoutMs: 10_000,
      });
      opened.push(db);
      return new StatusTableSource(db, 'runs', sourcesFrom(RUNS_CONFIG, t.schema).runs!, FILE);
    });

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    await seedRuns(t.db, t.schema);
  });
  afterAll(async () => {
    await Promise.all(opened.map((db) => db.close()));
    await t?.close();
  });

  it('10 marks of one row from 10 connections, released at once: exactly one changes it', async () => {
    const sources = consoles(10);
    await Promise.all(sources.map((s) => s.context()));
    // Hold the row so that all ten queue on it, then let them go together.
    const admin: pg.Client = await adminClient();
    try {
      await admin.query('BEGIN');
      await admin.query(`SELECT 1 FROM "${t.schema}".runs WHERE run_id = $1 FOR UPDATE`, [RUN.stuckLoad]);
      const pending = sources.map((s, i) => s.mark(markRequest(i % 2 === 0 ? 'fail' : 'cancel', [RUN.stuckLoad], `console ${i}`)));
      const adminPid = (await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
      await eventually('ten sessions queued behind the held row', async () => {
        const { rows } = await admin.query<{ n: number }>(
          `WITH RECURSIVE queued(pid) AS (
             SELECT a.pid FROM pg_stat_activity a WHERE $1::int = ANY(pg_blocking_pids(a.pid))
             UNION
             SELECT a.pid FROM pg_stat_activity a JOIN queued q ON q.pid = ANY(pg_blocking_pids(a.pid)))
           SELECT count(*)::int AS n FROM queued`,
          [adminPid],
        );
        return rows[0]!.n === 10 ? true : null;
      });
      await admin.query('ROLLBACK');
      const results = (await Promise.all(pending)).flat();

      const winners = results.filter((r) => r.outcome === 'failed' || r.outcome === 'cancelled');
      expect(winners).toHaveLength(1);
      const winner = winners[0]!;
      const state = winner.outcome === 'failed' ? 'failed' : 'cancelled';
      const losers = results.filter((r) => r !== winner);
      expect(losers).toHaveLength(9);
      for (const r of losers) expect(r).toMatchObject({ execution_id: RUN.stuckLoad, outcome: 'already_terminal', state });

      const { rows } = await t.db.query<{ status: string; errors: string }>(`SELECT status::text, errors FROM "${t.schema}".runs WHERE run_id = $1`, [RUN.stuckLoad]);
      expect(rows[0]!.status).toBe(state === 'failed' ? 'FAILED' : 'CANCELLED');
      const lines = rows[0]!.errors.split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe('warning: SFY file missing');
      expect(lines[1]).toMatch(/^console \d \(noetl-console /);
    } finally {
      await admin.end();
    }
  });

  it('6 consoles on overlapping sets in different orders: every row changed exactly once, no deadlock', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);
    await t.db.query(
      `INSERT INTO "${t.schema}".runs (run_id, status, started_at, input_file_path)
       SELECT id, 'RUNNING', (now() AT TIME ZONE 'UTC') - interval '2 hours', 'bulk' FROM unnest($1::uuid[]) AS x(id)`,
      [ids],
    );
    const sources = consoles(6);
    const sets = sources.map((_, i) => shuffled(ids, i + 1).slice(0, 180));
    const results: MarkResult[][] = await Promise.all(sources.map((s, i) => s.mark(markRequest(i % 3 === 0 ? 'cancel' : 'fail', sets[i]!, `bulk ${i}`, { batchSize: 40 }))));

    const changes = new Map<string, number>();
    for (const [i, list] of results.entries()) {
      expect(list.map((r) => r.execution_id)).toEqual(sets[i]);
      for (const r of list) {
        if (r.outcome === 'failed' || r.outcome === 'cancelled') changes.set(r.execution_id, (changes.get(r.execution_id) ?? 0) + 1);
        else expect(r.outcome).toBe('already_terminal');
      }
    }
    const covered = new Set(sets.flat());
    expect([...changes.values()].every((n) => n === 1)).toBe(true);
    expect(new Set(changes.keys())).toEqual(covered);

    const { rows } = await t.db.query<{ run_id: string; status: string; errors: string | null }>(
      `SELECT run_id::text, status::text, errors FROM "${t.schema}".runs WHERE run_id = ANY($1::uuid[])`,
      [ids],
    );
    for (const row of rows) {
      if (covered.has(row.run_id)) {
        expect(['FAILED', 'CANCELLED']).toContain(row.status);
        expect(row.errors!.split('\n')).toHaveLength(1);
      } else {
        expect(row).toMatchObject({ status: 'RUNNING', errors: null });
      }
    }
  });
});
