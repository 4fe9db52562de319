/**
 * Promise 7, least privilege.
 * - A role with exactly the grants the README lists (USAGE on the schema;
 *   SELECT on event, catalog, runtime, command; INSERT on event; EXECUTE on
 *   snowflake_id(), with EXECUTE revoked from PUBLIC so that the grant is
 *   what counts) can list, show, health, cancel, fail and cleanup.
 * - A role with SELECT only can list, show and health; its writes fail with
 *   exit 1 and one clear line, and nothing is written.
 * - --read-only is enforced by the database session: the data layer opened
 *   with readOnly: true (openPostgres) is refused by the server (SQLSTATE
 *   25006) when markExecutions tries to write, even though no console code
 *   stands in the way; the bin refuses too, and nothing is written.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { currentActor } from '../../src/audit.js';
import { openPostgres } from '../../src/db/postgres.js';
import { markExecutions } from '../../src/noetl/mark.js';
import { NoetlStore } from '../../src/noetl/store.js';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, POSTGRES_URL, type TestDatabase, describePostgres } from '../helpers/db.js';
import { connect, consoleEvents, countEvents, dropRole, stderrProblems, uniqueIdBase, uniqueName, urlFor } from '../helpers/reliability.js';
import { runCli } from '../helpers/cli.js';

let t: TestDatabase;
let admin: pg.Client;
const writer = uniqueName('nc_lp');
const reader = uniqueName('nc_ro');
const withSequence = uniqueName('nc_lps');
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await createTestDatabase('postgres');
  admin = await connect();
  const s = new Scenario(uniqueIdBase());
  for (const name of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'r1', 'r2', 'ro1', 'ro2']) {
    const root = s.execution({ path: `grants/${name}`, dialect: name === 'b' ? 'rust' : 'python', startedMinutesAgo: 100 });
    root.issued('extract', 90);
    ids[name] = root.id;
    ids[`${name}c`] = s.execution({ path: `grants/${name}-child`, startedMinutesAgo: 95, parent: root }).issued('work', 90).id;
  }
  s.worker('worker-a', 5);
  await s.apply(t.db, t.schema);
  const q = `"${t.schema}"`;
  for (const role of [writer, reader, withSequence]) await admin.query(`CREATE ROLE "${role}" LOGIN`);
  await admin.query(`REVOKE EXECUTE ON FUNCTION ${q}.snowflake_id() FROM PUBLIC`);
  // Exactly the README's list.
  for (const role of [writer, withSequence]) {
    await admin.query(`GRANT USAGE ON SCHEMA ${q} TO "${role}"`);
    await admin.query(`GRANT SELECT ON ${q}.event, ${q}.catalog, ${q}.runtime, ${q}.command TO "${role}"`);
    await admin.query(`GRANT INSERT ON ${q}.event TO "${role}"`);
    await admin.query(`GRANT SELECT, UPDATE ON ${q}.execution TO "${role}"`);
    await admin.query(`GRANT EXECUTE ON FUNCTION ${q}.snowflake_id() TO "${role}"`);
  }
  // The same plus the sequence that snowflake_id() draws from (as in NoETL's own DDL).
  await admin.query(`GRANT USAGE ON SEQUENCE ${q}.snowflake_seq TO "${withSequence}"`);
  await admin.query(`GRANT USAGE ON SCHEMA ${q} TO "${reader}"`);
  await admin.query(`GRANT SELECT ON ${q}.event, ${q}.catalog, ${q}.runtime, ${q}.command TO "${reader}"`);
});

afterAll(async () => {
  await t?.close();
  for (const role of [writer, reader, withSequence]) await dropRole(admin, role);
  await admin?.end().catch(() => undefined);
});

/** stderr without the note on running descendants a close without --cascade leaves. */
const problems = (stderr: string) => stderr.replace(/^noetl-console: (would leave|left) \d+ running descendant.*\n/gm, '');

const envFor = (role: string) => ({ NOETL_DATABASE_URL: urlFor(role), NOETL_SCHEMA: t.schema });

async function changedBy(role: string): Promise<string[]> {
  const { rows } = await admin.query<{ execution_id: string }>(
    `SELECT DISTINCT e.execution_id::text FROM "${t.schema}".event e WHERE e.meta->>'emitted_by' = 'noetl-console' AND e.meta->>'reason' = $1 ORDER BY 1`,
    [role],
  );
  return rows.map((r) => r.execution_id);
}

describePostgres('least privilege: the README grants', () => {
  it('can list, show and health', async () => {
    for (const args of [
      ['list', '--older-than', '0', '--json'],
      ['show', ids.a!, '--json'],
      ['health', '--json', '--warning-long-running', '1000000', '--critical-long-running', '1000000'],
      ['cleanup', '--older-than', '10', '--dry-run', '--json'],
    ]) {
      const r = await runCli(args, { env: envFor(writer) });
      expect({ args, code: r.code, stderr: problems(r.stderr) }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('can cancel, fail and cleanup (with cascade)', async () => {
    const e = envFor(writer);
    const results = [
      await runCli(['cancel', ids.a!, '--cascade', '--reason', writer], { env: e }),
      await runCli(['fail', ids.b!, '--cascade', '--reason', writer], { env: e }),
      await runCli(['cleanup', '--older-than', '10', '--path', 'grants/c', '--cascade', '--reason', writer], { env: e }),
      await runCli(['cleanup', '--older-than', '10', '--path', 'grants/d', '--mark', 'failed', '--reason', writer], { env: e }),
    ];
    expect(results.map((r) => ({ code: r.code, stderr: problems(r.stderr) }))).toEqual(results.map(() => ({ code: 0, stderr: '' })));
    // cleanup selects children too: grants/d-child is closed with grants/d.
    expect(await changedBy(writer)).toEqual([ids.a, ids.ac, ids.b, ids.bc, ids.c, ids.cc, ids.d, ids.dc].map(String).sort());
  });

  it('(the same grants plus USAGE on snowflake_seq) can cancel, fail and cleanup', async () => {
    const e = envFor(withSequence);
    const results = [
      await runCli(['cancel', ids.e!, '--cascade', '--reason', withSequence], { env: e }),
      await runCli(['fail', ids.f!, '--reason', withSequence], { env: e }),
      await runCli(['cleanup', '--older-than', '10', '--path', 'grants/g', '--cascade', '--reason', withSequence], { env: e }),
    ];
    expect(results.map((r) => ({ code: r.code, stderr: problems(r.stderr) }))).toEqual(results.map(() => ({ code: 0, stderr: '' })));
    expect(await changedBy(withSequence)).toEqual([ids.e, ids.ec, ids.f, ids.g, ids.gc].map(String).sort());
  });
});

describePostgres('least privilege: SELECT only', () => {
  it('can list, show and health', async () => {
    for (const args of [
      ['list', '--older-than', '0'],
      ['show', ids.ro1!],
      ['health', '--warning-long-running', '1000000', '--critical-long-running', '1000000'],
      ['cancel', ids.ro1!, '--dry-run'],
    ]) {
      const r = await runCli(args, { env: envFor(reader) });
      expect({ args, code: r.code, stderr: problems(r.stderr) }).toEqual({ args, code: 0, stderr: '' });
    }
  });

  it('its write attempts exit 1 with one clear line and write nothing', async () => {
    const before = await countEvents(admin, t.schema);
    for (const args of [
      ['cancel', ids.ro1!, '--cascade'],
      ['fail', ids.ro2!, '--json'],
      ['cleanup', '--older-than', '10', '--cascade'],
      ['cleanup', '--older-than', '10', '--mark', 'failed', '--json'],
    ]) {
      const r = await runCli(args, { env: envFor(reader) });
      expect({ args, code: r.code, stdout: r.stdout, problems: stderrProblems(r) }).toEqual({ args, code: 1, stdout: '', problems: [] });
      expect(r.stderr).toMatch(/permission denied/);
    }
    expect(await countEvents(admin, t.schema)).toBe(before);
  });
});

describePostgres('--read-only is enforced by the database session', () => {
  it('the data layer opened read-only: the server refuses markExecutions (SQLSTATE 25006), nothing written', async () => {
    const before = await countEvents(admin, t.schema);
    const db = openPostgres({
      target: { kind: 'postgres', connectionString: POSTGRES_URL, label: 'test' },
      schema: t.schema,
      readOnly: true,
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 10_000,
    });
    try {
      // Every statement runs in a transaction that began READ ONLY (src/db/session.ts).
      const { rows } = await db.query<{ transaction_read_only: string }>('SHOW transaction_read_only');
      expect(rows[0]!.transaction_read_only).toBe('on');
      const store = new NoetlStore(db, t.schema);
      // No console code stands in the way here: only the session refuses.
      const attempt = markExecutions(store, { action: 'cancel', ids: [ids.h!], reason: 'read-only test', cascade: true, dryRun: false, actor: currentActor() });
      await expect(attempt).rejects.toMatchObject({ code: '25006' });
      // A direct INSERT through the same session is refused too.
      await expect(db.query(`INSERT INTO "${t.schema}".catalog (catalog_id, path, version, kind) VALUES (1, 'x', 1, 'Playbook')`)).rejects.toMatchObject({ code: '25006' });
      await expect(db.transaction((tx) => tx.query(`INSERT INTO "${t.schema}".catalog (catalog_id, path, version, kind) VALUES (2, 'y', 1, 'Playbook')`))).rejects.toMatchObject({
        code: '25006',
      });
      // Reading and a dry run still work.
      const dry = await markExecutions(store, { action: 'cancel', ids: [ids.h!], reason: 'read-only test', cascade: true, dryRun: true, actor: currentActor() });
      expect(dry.map((r) => r.outcome)).toEqual(['would_cancel', 'would_cancel']);
    } finally {
      await db.close();
    }
    expect(await countEvents(admin, t.schema)).toBe(before);
    expect((await consoleEvents(admin, t.schema)).filter((e) => e.execution_id === ids.h)).toEqual([]);
  });

  it('the bin with --read-only or NOETL_CONSOLE_READ_ONLY=1 refuses every write with one line and writes nothing', async () => {
    const before = await countEvents(admin, t.schema);
    const env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
    for (const [args, extra] of [
      [['cancel', ids.h!, '--read-only'], {}],
      [['fail', ids.h!, '--cascade'], { NOETL_CONSOLE_READ_ONLY: '1' }],
      [['cleanup', '--older-than', '10', '--read-only', '--json'], {}],
      [['--read-only', 'cleanup', '--older-than', '10', '--mark', 'failed'], {}],
    ] as [string[], Record<string, string>][]) {
      const r = await runCli(args, { env: { ...env, ...extra } });
      expect({ args, code: r.code === 1 || r.code === 2, stdout: r.stdout, problems: stderrProblems(r) }).toEqual({ args, code: true, stdout: '', problems: [] });
      expect(r.stderr).toMatch(/read-only/);
    }
    const dry = await runCli(['cleanup', '--older-than', '10', '--read-only', '--dry-run', '--json'], { env });
    expect(dry.code).toBe(0);
    expect(await countEvents(admin, t.schema)).toBe(before);
  });
});
