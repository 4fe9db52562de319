/**
 * Issue 13 item 8: after a big cleanup the planner's statistics of the
 * partition written are stale (its plan for the full load can flip). The
 * console analyzes the partitions it wrote when its role may, says so when
 * it may not, and doctor reports the stale table with the ANALYZE to run.
 */
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../helpers/db.js';
import { connect, dropRole, uniqueIdBase, uniqueName, urlFor } from '../helpers/reliability.js';
import { runCli } from '../helpers/cli.js';
import { eventually } from '../helpers/eventually.js';

const STUCK = 1100; // two events each: 2,200 rows, over ANALYZE_AFTER_ROWS

describePostgres('statistics after a big write', () => {
  let t: TestDatabase;
  let admin: pg.Client;
  const grantee = uniqueName('nc_stat');
  let q: string;

  const leaves: Record<string, string> = {};

  /** Stuck executions under two paths (one Scenario: one catalog), each set in one partition (the fixture partitions by execution_id, as NoETL does). */
  async function seed(): Promise<void> {
    const s = new Scenario(uniqueIdBase());
    const first: Record<string, string> = {};
    for (const path of ['stats/owner', 'stats/grantee']) {
      for (let i = 0; i < STUCK; i++) {
        const id = s.execution({ path, startedMinutesAgo: 120 }).issued('load', 100).id;
        first[path] ??= id;
      }
    }
    await s.apply(t.db, t.schema);
    await admin.query(`ANALYZE ${q}.event`);
    for (const [path, id] of Object.entries(first)) {
      leaves[path] = (await admin.query<{ leaf: string }>(`SELECT tableoid::regclass::text AS leaf FROM ${q}.event WHERE execution_id = $1 LIMIT 1`, [id])).rows[0]!.leaf;
    }
  }

  const lastAnalyze = async (table: string) =>
    (await admin.query<{ at: Date | null }>(`SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relid = $1::regclass`, [table])).rows[0]?.at ?? null;

  beforeAll(async () => {
    t = await createTestDatabase('postgres');
    admin = await connect();
    q = `"${t.schema}"`;
    await admin.query(`CREATE ROLE "${grantee}" LOGIN`);
    await admin.query(`GRANT USAGE ON SCHEMA ${q} TO "${grantee}"`);
    await admin.query(`GRANT SELECT ON ${q}.event, ${q}.catalog, ${q}.runtime, ${q}.command TO "${grantee}"`);
    await admin.query(`GRANT INSERT ON ${q}.event TO "${grantee}"`);
    await admin.query(`GRANT SELECT, UPDATE ON ${q}.execution TO "${grantee}"`);
    await admin.query(`GRANT EXECUTE ON FUNCTION ${q}.snowflake_id() TO "${grantee}"`);
    await admin.query(`GRANT USAGE ON SEQUENCE ${q}.snowflake_seq TO "${grantee}"`);
    await seed();
  });
  afterAll(async () => {
    await t?.close();
    if (admin) await dropRole(admin, grantee);
    await admin?.end().catch(() => undefined);
  });

  it('the owner: cleanup analyzes the partition it wrote', async () => {
    const leaf = leaves['stats/owner']!;
    const before = await lastAnalyze(leaf);
    const r = await runCli(['cleanup', '--older-than', '5', '--path', 'stats/owner', '--json', '--database-url', t.url, '--schema', t.schema]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.cancelled_count).toBe(STUCK);
    expect(out.analyze.analyzed).toContain(leaf);
    expect(out.analyze.not_permitted).toEqual([]);
    expect(r.stderr).toContain(`analyzed ${leaf}`);
    // Analyzed by the console after its write (the seed's ANALYZE came before).
    const after = await lastAnalyze(leaf);
    expect(after).not.toBeNull();
    expect(after!.getTime()).toBeGreaterThan(before!.getTime());
  });

  it('a role that may not: it says to run ANALYZE, and doctor reports the stale partition with the statement', async () => {
    const leaf = leaves['stats/grantee']!;
    const r = await runCli(['cleanup', '--older-than', '5', '--path', 'stats/grantee', '--json', '--database-url', urlFor(grantee), '--schema', t.schema]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.cancelled_count, r.stdout.slice(0, 2000) + r.stderr).toBe(STUCK);
    expect(out.analyze.analyzed).toEqual([]);
    expect(out.analyze.not_permitted).toContain(leaf);
    expect(r.stderr).toContain(`run ANALYZE ${leaf}`);

    // The server counts the rows once the writer's statistics are flushed (at its exit).
    const doctor = await eventually('doctor to see the stale partition', async () => {
      const d = await runCli(['doctor', '--json', '--database-url', t.url, '--schema', t.schema]);
      const report = JSON.parse(d.stdout);
      return report.statistics.some((s: { table: string; stale: boolean }) => s.table === leaf && s.stale) ? report : null;
    });
    expect(doctor.missing).toContain(`ANALYZE ${leaf};`);
    const text = await runCli(['doctor', '--database-url', t.url, '--schema', t.schema]);
    expect(text.stdout).toMatch(/stale\s+statistics\s+\S+: \d+ rows changed since its last analyze/);
    expect(text.stdout).toContain(`${leaf}: `);
    const script = await runCli(['doctor', '--script', '--database-url', t.url, '--schema', t.schema]);
    expect(script.stdout).toContain(`ANALYZE ${leaf};`);
  });
});
