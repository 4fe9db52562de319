/**
 * The running-set snapshot end to end (src/noetl/snapshot.ts): the bin saves
 * it in $XDG_CACHE_HOME (0700 directory, 0600 file, no password), the next
 * run revalidates it, and a corrupt, foreign, too old or --fresh one gives
 * way to a full load. Each fallback is shown by what only a full load finds:
 * a running execution inserted with a start stamped a day ago (long before
 * the snapshot's margin), which a revalidation cannot see.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { backends } from '../helpers/db.js';
import { createCliDatabase, jsonOf, runCli, show, type CliDatabase } from '../helpers/cli.js';

describe.each(backends())('running-set snapshot through the bin on %s', (backend) => {
  let d: CliDatabase;
  const cache = mkdtempSync(join(tmpdir(), 'noetl-console-xdg-'));
  const dir = join(cache, 'noetl-console');
  // Snapshots at any size of history (the default waits for a million events); the outcome on stderr.
  const env = { XDG_CACHE_HOME: cache, NOETL_CONSOLE_SNAPSHOT_MIN_EVENTS: '0', NOETL_CONSOLE_DEBUG: '1' };
  let next = 0n;
  const base = 810_000_000_000_000_000n;

  /** Execution ids by name, to read the listing by. */
  const named = new Map<string, string>();
  /** A running execution whose start is stamped `minutesAgo`, committed now. */
  const insertRunning = async (name: string, minutesAgo: number) => {
    const s = new Scenario(base + (next += 1_000_000n));
    named.set(s.execution({ path: `etl/${name}`, startedMinutesAgo: minutesAgo }).id, name);
    await d.use((db) => s.apply(db, d.schema));
  };
  const list = async (...extra: string[]) => {
    const r = await runCli(['list', '--older-than', '0', '--include-children', '--json', ...d.args, ...extra], { env });
    expect(r.code, show(r)).toBe(0);
    const outcome = /running set: (\S+)/.exec(r.stderr)?.[1];
    return {
      paths: jsonOf<{ executions: { execution_id: string }[] }>(r)
        .executions.map((e) => named.get(e.execution_id) ?? e.execution_id)
        .sort(),
      outcome,
    };
  };
  const idOf = (name: string) => [...named].find(([, n]) => n === name)![0];
  const file = () => {
    // The learned thresholds (their own kind) share the directory.
    const files = readdirSync(dir).filter((f) => f.startsWith('running-set-') && f.endsWith('.json'));
    expect(files).toHaveLength(1);
    return join(dir, files[0]!);
  };
  const edit = (fn: (doc: any) => void) => {
    const doc = JSON.parse(readFileSync(file(), 'utf8'));
    fn(doc);
    writeFileSync(file(), JSON.stringify(doc));
  };

  beforeAll(async () => {
    d = await createCliDatabase(backend, async (db, schema) => {
      const s = new Scenario(base);
      named.set(s.execution({ path: 'seeded-a', startedMinutesAgo: 90 }).id, 'seeded-a');
      named.set(s.execution({ path: 'seeded-b', startedMinutesAgo: 20, dialect: 'rust' }).id, 'seeded-b');
      named.set(s.execution({ path: 'seeded-c', startedMinutesAgo: 45 }).id, 'seeded-c');
      s.execution({ path: 'etl/seeded-done', startedMinutesAgo: 60 }).finish('completed', 50);
      await s.apply(db, schema);
    });
  });
  afterAll(async () => {
    rmSync(cache, { recursive: true, force: true });
    await d?.close();
  });

  it('saves, revalidates, and falls back to a full load when it must', async () => {
    expect(await list()).toEqual({ paths: ['seeded-a', 'seeded-b', 'seeded-c'], outcome: 'full:missing' });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(file()).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(file(), 'utf8'));
    expect(doc.key).toMatchObject({ schema: d.schema, source_kind: 'noetl', source_name: 'noetl' });
    expect(doc.value.state.rows.map((r: { execution_id: unknown }) => typeof r.execution_id)).toEqual(['string', 'string', 'string']);

    // Revalidated: a new start (stamped now) and a finish are seen; so is a finish stamped a day ago (a
    // commit far later than the margin: the known executions are probed by id); a start stamped a day ago is not.
    await insertRunning('new', 0.5);
    await insertRunning('backdated-1', 24 * 60);
    await d.use((db) =>
      db.query(
        `INSERT INTO "${d.schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
        SELECT e.execution_id, e.event_id + 1000, e.catalog_id, now() AT TIME ZONE 'UTC', 'playbook_completed', 'playbook', 'COMPLETED'
        FROM "${d.schema}".event e WHERE e.execution_id = $1::bigint AND e.event_type = 'playbook_started'`,
        [idOf('seeded-b')],
      ),
    );
    await d.use((db) =>
      db.query(
        `INSERT INTO "${d.schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
        SELECT e.execution_id, e.event_id + 1000, e.catalog_id, (now() AT TIME ZONE 'UTC') - interval '1 day', 'playbook.failed', 'playbook', 'FAILED'
        FROM "${d.schema}".event e WHERE e.execution_id = $1::bigint AND e.event_type = 'playbook.initialized'`,
        [idOf('seeded-c')],
      ),
    );
    expect(await list()).toEqual({ paths: ['new', 'seeded-a'], outcome: 'revalidated' });

    // Corrupt: a full load, which finds the backdated one, and a good snapshot again.
    writeFileSync(file(), '{"format":1,"kind":"running-set", trunc');
    expect(await list()).toEqual({ paths: ['backdated-1', 'new', 'seeded-a'], outcome: 'full:corrupt' });
    expect(statSync(file()).mode & 0o777).toBe(0o600);

    // Foreign: a snapshot whose key names another database.
    await insertRunning('backdated-2', 24 * 60);
    expect((await list()).outcome).toBe('revalidated');
    edit((doc) => (doc.key.system_identifier = '1'));
    expect(await list()).toEqual({ paths: ['backdated-1', 'backdated-2', 'new', 'seeded-a'], outcome: 'full:foreign' });

    // Too old: its full load was two hours ago (default --max-snapshot-age 1h), however recently it was revalidated.
    await insertRunning('backdated-3', 24 * 60);
    expect((await list()).paths).not.toContain('backdated-3');
    edit((doc) => (doc.value.full_load_at_ms -= 2 * 3600_000));
    expect((await list()).outcome).toBe('full:stale');
    // ... and a younger one with a tighter --max-snapshot-age.
    await insertRunning('backdated-4', 24 * 60);
    edit((doc) => (doc.value.full_load_at_ms -= 10 * 60_000));
    expect((await list()).paths).not.toContain('backdated-4');
    expect((await list('--max-snapshot-age', '5')).outcome).toBe('full:stale');

    // --fresh: a full load whatever the snapshot.
    await insertRunning('backdated-5', 24 * 60);
    const fresh = await list('--fresh');
    expect(fresh.outcome).toBe('full:fresh');
    expect(fresh.paths).toContain('backdated-5');
    expect((await list()).outcome).toBe('revalidated');

    // health counts the same running set.
    const h = await runCli(['health', '--json', ...d.args], { env });
    expect([0, 4, 5], show(h)).toContain(h.code);
    expect(h.stderr).toContain('running set: revalidated');
    expect(jsonOf(h).metrics.running_executions).toBe(fresh.paths.length);
  }, 300_000);

  it("a child that finished leaves its parent's running_children current, whatever its terminal event names", async () => {
    const s = new Scenario(base + 500_000_000n);
    // Stamped before the margin: nothing of the parent's is in the next run's window.
    const parent = s.execution({ path: 'etl/parent', startedMinutesAgo: 30 });
    const child = s.execution({ path: 'etl/child', dialect: 'rust', startedMinutesAgo: 20, parent });
    await d.use((db) => s.apply(db, d.schema));
    const runningChildren = async (...extra: string[]) => {
      const r = await runCli(['list', '--older-than', '0', '--include-children', '--json', ...d.args, ...extra], { env });
      expect(r.code, show(r)).toBe(0);
      const row = jsonOf<{ executions: { execution_id: string; running_children: number }[] }>(r).executions.find((e) => e.execution_id === parent.id);
      return { outcome: /running set: (\S+)/.exec(r.stderr)?.[1], running_children: row?.running_children };
    };
    expect(await runningChildren('--fresh')).toEqual({ outcome: 'full:fresh', running_children: 1 });
    // The engine's terminal event without parent_execution_id: the revalidation learns of it by probing the child's id.
    await d.use((db) =>
      db.query(
        `INSERT INTO "${d.schema}".event (execution_id, event_id, catalog_id, created_at, event_type, node_name, status)
        SELECT e.execution_id, e.event_id + 1000, e.catalog_id, now() AT TIME ZONE 'UTC', 'playbook_completed', 'playbook', 'COMPLETED'
        FROM "${d.schema}".event e WHERE e.execution_id = $1::bigint AND e.event_type = 'playbook_started'`,
        [child.id],
      ),
    );
    expect(await runningChildren()).toEqual({ outcome: 'revalidated', running_children: 0 });
    expect(await runningChildren('--fresh')).toEqual({ outcome: 'full:fresh', running_children: 0 });
  });

  it('never stores a password, and refuses a bad --max-snapshot-age before connecting', async () => {
    if (backend === 'postgres') {
      // Trust authentication ignores the password; the snapshot must not keep it anyway.
      const url = new URL(d.url);
      url.password = 'hunter2-secret';
      const r = await runCli(['list', '--json', '--database-url', url.toString(), '--schema', d.schema], { env });
      expect(r.code, show(r)).toBe(0);
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f), 'utf8')).not.toContain('hunter2');
    }
    const bad = await runCli(['list', ...d.args, '--max-snapshot-age', 'soon'], { env: { ...env, NOETL_CONSOLE_DEBUG: undefined } });
    expect(bad.code, show(bad)).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toContain('--max-snapshot-age');
  });

  it('without a snapshot threshold override, a small history is a full load each run and saves nothing', async () => {
    const own = mkdtempSync(join(tmpdir(), 'noetl-console-xdg-'));
    try {
      const r = await runCli(['list', '--json', ...d.args], { env: { XDG_CACHE_HOME: own, NOETL_CONSOLE_DEBUG: '1' } });
      expect(r.code, show(r)).toBe(0);
      expect(r.stderr).toContain('running set: small');
      const saved = existsSync(join(own, 'noetl-console')) ? readdirSync(join(own, 'noetl-console')) : [];
      expect(saved.filter((f) => f.startsWith('running-set-'))).toEqual([]);
    } finally {
      rmSync(own, { recursive: true, force: true });
    }
  });
});
