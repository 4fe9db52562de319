/**
 * Promise 8, audit: every write path (cancel, fail, cleanup marking
 * cancelled, cleanup marking failed, ids from standard input, and the
 * children each of them reaches with --cascade) writes meta with the
 * reason, the OS user, the host and the console version (plus who wrote it,
 * the action, cascade and the root for cascaded children), and `show`
 * displays them in its human output.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, type TestDatabase, describePostgres } from '../helpers/db.js';
import { connect, consoleEvents, PACKAGE_VERSION, uniqueIdBase, uniqueName, type ConsoleEvent } from '../helpers/reliability.js';
import { runCli } from '../helpers/cli.js';

let t: TestDatabase;
let admin: pg.Client;
const OS_USER = uniqueName('auditor');
const ids: Record<string, string> = {};

interface WritePath {
  name: string;
  args: (reason: string) => string[];
  stdin?: () => string;
  root: string;
  action: 'cancel' | 'fail';
  /** Executions it must change: the root, then its running descendants. */
  changes: () => string[];
  /** It selects the children on their own (cleanup without --cascade): each is its own root. */
  ownRoots?: boolean;
}

const paths: WritePath[] = [
  { name: 'cancel --cascade', root: 'p1', action: 'cancel', args: (r) => ['cancel', ids.p1!, '--cascade', '--reason', r], changes: () => [ids.p1!, ids.p1c!, ids.p1g!] },
  { name: 'fail --cascade', root: 'p2', action: 'fail', args: (r) => ['fail', ids.p2!, '--cascade', '--reason', r], changes: () => [ids.p2!, ids.p2c!, ids.p2g!] },
  { name: 'cancel (no cascade)', root: 'p3', action: 'cancel', args: (r) => ['cancel', ids.p3!, '--reason', r], changes: () => [ids.p3!] },
  { name: 'fail (no cascade)', root: 'p4', action: 'fail', args: (r) => ['fail', ids.p4!, '--reason', r], changes: () => [ids.p4!] },
  {
    name: 'cleanup --cascade (cancelled)',
    root: 'p5',
    action: 'cancel',
    args: (r) => ['cleanup', '--older-than', '10', '--path', 'audit/p5', '--cascade', '--reason', r],
    changes: () => [ids.p5!, ids.p5c!, ids.p5g!],
  },
  {
    name: 'cleanup --mark failed --cascade',
    root: 'p6',
    action: 'fail',
    args: (r) => ['cleanup', '--older-than', '10', '--path', 'audit/p6', '--mark', 'failed', '--cascade', '--reason', r],
    changes: () => [ids.p6!, ids.p6c!, ids.p6g!],
  },
  {
    name: 'cleanup (default reason)',
    root: 'p7',
    action: 'cancel',
    args: () => ['cleanup', '--older-than', '10', '--path', 'audit/p7*', '--json'],
    changes: () => [ids.p7!, ids.p7c!, ids.p7g!],
    ownRoots: true,
  },
  {
    name: 'cancel - --cascade (stdin)',
    root: 'p8',
    action: 'cancel',
    args: (r) => ['cancel', '-', '--cascade', '--reason', r],
    stdin: () => `${ids.p8}\n`,
    changes: () => [ids.p8!, ids.p8c!, ids.p8g!],
  },
  { name: 'fail - --json (stdin)', root: 'p9', action: 'fail', args: (r) => ['fail', '-', '--json', '--reason', r], stdin: () => `${ids.p9}\n`, changes: () => [ids.p9!] },
];

beforeAll(async () => {
  t = await createTestDatabase('postgres');
  admin = await connect();
  const s = new Scenario(uniqueIdBase());
  for (let i = 1; i <= 9; i++) {
    const root = s.execution({ path: `audit/p${i}`, dialect: i % 2 ? 'python' : 'rust', startedMinutesAgo: 100 });
    root.issued('extract', 90);
    const child = s.execution({ path: `audit/p${i}-child`, startedMinutesAgo: 95, parent: root }).issued('work', 80);
    const grandchild = s.execution({ path: `audit/p${i}-grandchild`, startedMinutesAgo: 90, parent: child }).issued('deep', 80);
    s.execution({ path: `audit/p${i}-done`, startedMinutesAgo: 90, parent: root }).finish('completed', 50);
    Object.assign(ids, { [`p${i}`]: root.id, [`p${i}c`]: child.id, [`p${i}g`]: grandchild.id });
  }
  await s.apply(t.db, t.schema);
});

afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await t?.close();
});

function expectAudit(e: ConsoleEvent, path: WritePath, reason: string, root: string): void {
  const where = `${path.name}: ${e.execution_id}`;
  expect(e.meta, where).toMatchObject({
    reason,
    os_user: OS_USER,
    host: hostname(),
    console_version: PACKAGE_VERSION,
    cancelled_by: 'noetl-console',
    emitted_by: 'noetl-console',
    action: path.action,
    root_execution_id: root,
    cascaded: e.execution_id !== root,
  });
  if (path.action === 'cancel') {
    expect({ type: e.event_type, status: e.status, result: e.result }, where).toEqual({
      type: 'execution.cancelled',
      status: 'CANCELLED',
      result: { status: 'CANCELLED', context: { reason, closed_by: 'noetl-console' } },
    });
  } else {
    expect({ type: e.event_type, status: e.status, error: e.error }, where).toEqual({ type: 'playbook.failed', status: 'FAILED', error: reason });
    expect(e.result, where).toMatchObject({ status: 'FAILED', context: expect.any(Object) });
  }
}

describePostgres('audit: every write path records who, where, why and with which console', () => {
  for (const path of paths) {
    it(`${path.name}: meta has reason, os_user, host, console_version; show displays them`, async () => {
      const reason = path.name.includes('default reason') ? null : `audit ${path.name} ${uniqueName('r')}`;
      const env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema, USER: OS_USER, LOGNAME: OS_USER, SUDO_USER: undefined };
      const r = await runCli(path.args(reason ?? ''), { env, ...(path.stdin ? { input: path.stdin() } : {}) });
      expect(r.code, r.stderr).toBe(0);
      const root = ids[path.root]!;
      const mine = (await consoleEvents(admin, t.schema)).filter((e) => path.changes().includes(e.execution_id));
      expect(mine.map((e) => e.execution_id).sort()).toEqual([...path.changes()].sort());
      const stored = reason ?? String(mine[0]!.meta.reason);
      expect(stored.length).toBeGreaterThan(0);
      for (const e of mine) expectAudit(e, path, stored, path.ownRoots ? e.execution_id : root);

      // show: the audit line of every changed execution names reason, user, host and version.
      for (const id of path.changes()) {
        const shown = await runCli(['show', id], { env: { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema } });
        expect(shown.code, shown.stderr).toBe(0);
        for (const piece of [stored, OS_USER, hostname(), PACKAGE_VERSION]) expect(shown.stdout, `show ${id} (${path.name}) shows ${piece}`).toContain(piece);
        const json = JSON.parse((await runCli(['show', id, '--json'], { env: { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema } })).stdout) as {
          events: { meta: Record<string, unknown> | null }[];
        };
        expect(
          json.events.some((ev) => ev.meta?.os_user === OS_USER && ev.meta?.reason === stored && ev.meta?.host === hostname() && ev.meta?.console_version === PACKAGE_VERSION),
        ).toBe(true);
      }
    });
  }

  it('no console event anywhere lacks the audit fields', async () => {
    const all = await consoleEvents(admin, t.schema);
    expect(all.length).toBe(paths.reduce((n, p) => n + p.changes().length, 0));
    const missing = all.filter((e) => ['reason', 'os_user', 'host', 'console_version'].some((k) => typeof e.meta[k] !== 'string' || e.meta[k] === ''));
    expect(missing).toEqual([]);
    console.log(`audit: ${paths.length} write paths, ${all.length} console events, every one with reason, os_user, host and console_version, all shown by show`);
  });
});
