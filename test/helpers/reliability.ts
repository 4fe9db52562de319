/**
 * Helpers for the reliability suite (test/reliability): spawn the built bin
 * with a clean environment, find the console's sessions on the server, and check the shape of an error.
 *
 * Everything here drives the real bin (dist/cli.js, built by `npm test`
 * before vitest runs) against the machine's PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import type { CliResult } from './spawn-cli.js';
import pg from 'pg';
import { POSTGRES_URL } from './db.js';
import { eventually } from './eventually.js';

export { POSTGRES_URL };
export { ROOT, PACKAGE_VERSION, startCli, type CliResult, type RunningCli } from './spawn-cli.js';

/**
 * A random base for Scenario ids. Advisory locks are per database, not per
 * schema, so files running in parallel must not share execution ids (the
 * default Scenario base is the same in every file).
 */
export function uniqueIdBase(): bigint {
  return 700_000_000_000_000_000n + BigInt(`0x${randomBytes(5).toString('hex')}`) * 100_000n;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** A second session (the "other operator", the engine, the lock holder). */
export async function connect(url = POSTGRES_URL, applicationName = 'noetl-console-reliability'): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, application_name: applicationName });
  client.on('error', () => {}); // terminated on purpose in some tests
  await client.connect();
  return client;
}

/**
 * The console's sessions (application_name = 'noetl-console') that wait,
 * directly or through another waiting console, for a lock held by
 * `holderPid`. Filtering by the blocker, not only by the application name,
 * keeps us from touching consoles of test files running in parallel.
 */
export async function consolesBlockedBy(admin: pg.Client, holderPid: number): Promise<{ pid: number; query: string }[]> {
  const { rows } = await admin.query<{ pid: number; query: string; blockers: number[] }>(
    `SELECT pid, query, pg_blocking_pids(pid) AS blockers FROM pg_stat_activity
     WHERE application_name = 'noetl-console' AND cardinality(pg_blocking_pids(pid)) > 0`,
  );
  const chained = new Set<number>([holderPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const r of rows) {
      if (!chained.has(r.pid) && r.blockers.some((b) => chained.has(b))) {
        chained.add(r.pid);
        grew = true;
      }
    }
  }
  return rows.filter((r) => chained.has(r.pid) && r.pid !== holderPid).map(({ pid, query }) => ({ pid, query }));
}

export async function backendPid(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}

/** Wait until `count` console sessions are blocked by holderPid; returns their pids. */
export async function waitForBlocked(admin: pg.Client, holderPid: number, count: number, what: string): Promise<number[]> {
  const rows = await eventually(`${count} console session(s) blocked by pid ${holderPid} (${what})`, async () => {
    const r = await consolesBlockedBy(admin, holderPid);
    return r.length >= count ? r : null;
  });
  return rows.map((r) => r.pid);
}

export async function terminate(admin: pg.Client, pids: readonly number[]): Promise<void> {
  await admin.query('SELECT pg_terminate_backend(p) FROM unnest($1::int[]) AS p', [pids]);
}

/** Problems with an error report on stderr: exactly one line, no stack trace, no raw control bytes. */
export function stderrProblems(r: Pick<CliResult, 'stderr' | 'stderrBytes'>): string[] {
  const problems: string[] = [];
  const text = r.stderr;
  if (text === '') return ['stderr is empty'];
  if (!text.endsWith('\n')) problems.push('stderr does not end with a newline');
  const lines = text.replace(/\n$/, '').split('\n');
  if (lines.length !== 1) problems.push(`stderr has ${lines.length} lines`);
  if (/^\s+at\s/m.test(text) || /\b(?:Type|Reference|Range|Syntax|URI)?Error: /.test(text)) problems.push('stderr has a stack trace or raw exception');
  if (!text.startsWith('noetl-console: ')) problems.push('stderr does not start with "noetl-console: "');
  if (hasControlBytes(r.stderrBytes, { allowNewline: true })) problems.push('stderr has raw control characters');
  return problems;
}

/**
 * True when the bytes hold a C0 control (other than \n, and \t when allowed),
 * DEL, ESC, or a C1 control encoded in UTF-8 (U+0080-U+009F), i.e. anything a
 * terminal could act on.
 */
export function hasControlBytes(bytes: Buffer, opts: { allowNewline?: boolean; allowTab?: boolean } = {}): boolean {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (b === 0x0a && opts.allowNewline) continue;
    if (b === 0x09 && opts.allowTab) continue;
    if (b < 0x20 || b === 0x7f) return true;
    if (b === 0xc2 && i + 1 < bytes.length && bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f) return true;
  }
  return false;
}

/** The distinct control code points (C0 but newline, DEL, C1) in a text, as U+XXXX. */
export function controlCodePoints(text: string): string[] {
  const found = new Set<string>();
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if ((c < 0x20 && c !== 0x0a) || (c >= 0x7f && c <= 0x9f)) found.add(`U+${c.toString(16).toUpperCase().padStart(4, '0')}`);
  }
  return [...found].sort();
}

/** Bidirectional-override characters (Trojan Source): U+202A-U+202E, U+2066-U+2069, U+200E/F. */
export function hasBidiControls(text: string): boolean {
  return /[\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text);
}

/** Seeded PRNG (mulberry32): the corpus and the schedules are reproducible from the seed printed in the output. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: readonly T[], rnd: () => number): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export interface ConsoleEvent {
  execution_id: string;
  event_id: string;
  event_type: string;
  status: string | null;
  meta: Record<string, unknown>;
  result: unknown;
  error: string | null;
}

/** Events written by the console (meta.emitted_by = 'noetl-console'). */
/** The console's closes, one row each: the newest of the two rows a close writes (src/noetl/vocabulary.ts CLOSE_ROWS). */
export async function consoleEvents(q: { query: pg.Client['query'] } | pg.Client, schema: string): Promise<ConsoleEvent[]> {
  const { rows } = await (q as pg.Client).query<ConsoleEvent>(
    `SELECT e.execution_id::text, e.event_id::text, e.event_type, e.status, e.meta, e.result, e.error
     FROM "${schema}".event e WHERE e.meta->>'emitted_by' = 'noetl-console'
       AND NOT EXISTS (SELECT 1 FROM "${schema}".event n WHERE n.execution_id = e.execution_id
                         AND n.parent_event_id = e.event_id AND n.meta->>'emitted_by' = 'noetl-console')
     ORDER BY e.execution_id, e.event_id`,
  );
  return rows;
}

export async function countEvents(client: pg.Client, schema: string): Promise<number> {
  const { rows } = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".event`);
  return Number(rows[0]!.n);
}

/** Console events per execution id. */
export function groupByExecution<T extends { execution_id: string }>(rows: readonly T[]): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const r of rows) {
    const list = m.get(r.execution_id);
    if (list) list.push(r);
    else m.set(r.execution_id, [r]);
  }
  return m;
}

/** Drop a role made by a test, with whatever it was granted in this database. */
export async function dropRole(admin: pg.Client, role: string): Promise<void> {
  await admin.query(`DROP OWNED BY "${role}"`).catch(() => undefined);
  await admin.query(`DROP ROLE IF EXISTS "${role}"`).catch(() => undefined);
}

/** A postgres:// URL for the test server with another user (and password), same host and database. */
export function urlFor(user: string, password?: string, base = POSTGRES_URL): string {
  const u = new URL(base);
  u.username = encodeURIComponent(user);
  u.password = password === undefined ? '' : encodeURIComponent(password);
  return u.toString();
}
