/**
 * Test databases. PGlite (in memory, or on disk for CLI tests) and the
 * machine's PostgreSQL, each test file in a schema of its own that is
 * dropped afterwards, so parallel files and reruns never meet.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { describe } from 'vitest';
import type { ConnectionOptions } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { openPglite } from '../../src/db/pglite.js';
import { openPostgres } from '../../src/db/postgres.js';
import { noetlSchemaSql, type SchemaOptions } from '../fixtures/noetl-schema.js';

export type Backend = 'pglite' | 'postgres';

export const POSTGRES_URL = process.env.NOETL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Backends for the data-layer suites: NOETL_TEST_BACKENDS=pglite,postgres (default both). */
export function backends(): Backend[] {
  const raw = process.env.NOETL_TEST_BACKENDS ?? 'pglite,postgres';
  return raw
    .split(',')
    .map((b) => b.trim())
    .filter((b): b is Backend => b === 'pglite' || b === 'postgres');
}

export function postgresEnabled(): boolean {
  return backends().includes('postgres');
}

/** Why a suite that needs a PostgreSQL server does not run, shown in its name; null when it runs. */
export const POSTGRES_SKIP_REASON = postgresEnabled() ? null : 'skipped: needs a PostgreSQL server, and NOETL_TEST_BACKENDS=pglite';

/** A suite that needs a PostgreSQL server: skipped, saying why, under NOETL_TEST_BACKENDS=pglite. */
export function describePostgres(name: string, fn: () => void): void {
  if (!POSTGRES_SKIP_REASON) return void describe(name, fn);
  // The default reporter names no skipped suite: say it in the output too.
  process.stderr.write(`${POSTGRES_SKIP_REASON}: ${name}\n`);
  describe.skip(`${name} [${POSTGRES_SKIP_REASON}]`, fn);
}

/** describePostgres once per case, as describe.each: `%s` in the name is the case. */
describePostgres.each =
  <T extends string>(cases: readonly T[]) =>
  (name: string, fn: (c: T) => void): void => {
    if (!POSTGRES_SKIP_REASON) return void describe.each(cases)(name, fn);
    process.stderr.write(`${POSTGRES_SKIP_REASON}: ${name}\n`);
    describe.skip.each(cases)(`${name} [${POSTGRES_SKIP_REASON}]`, fn);
  };

export function uniqueSchema(prefix = 'nc'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface TestDatabase {
  backend: Backend;
  db: Database;
  schema: string;
  /** --database-url for a spawned CLI (pglite: the on-disk directory, closed first). */
  url: string;
  close(): Promise<void>;
}

function options(target: ConnectionOptions['target'], schema: string, readOnly = false): ConnectionOptions {
  return { target, schema, readOnly, statementTimeoutMs: 15_000, connectTimeoutMs: 10_000 };
}

export async function createTestDatabase(backend: Backend, schemaOpts: SchemaOptions = {}, opts: { onDisk?: boolean } = {}): Promise<TestDatabase> {
  const schema = uniqueSchema();
  if (backend === 'pglite') {
    const dir = opts.onDisk ? mkdtempSync(join(tmpdir(), 'noetl-console-test-')) : 'memory';
    const db = await openPglite(options({ kind: 'pglite', dataDir: dir, label: 'pglite' }, schema));
    await db.query(noetlSchemaSql(schema, schemaOpts));
    return {
      backend,
      db,
      schema,
      url: `pglite://${dir}`,
      async close() {
        await db.close().catch(() => undefined);
        if (dir !== 'memory') rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const db = openPostgres(options({ kind: 'postgres', connectionString: POSTGRES_URL, label: '127.0.0.1:5432/test' }, schema));
  try {
    await db.query('SELECT 1');
  } catch (error) {
    await db.close();
    throw new Error(
      `PostgreSQL at ${POSTGRES_URL} is unreachable (${(error as Error).message}). Start it with: ` +
        'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start, or run NOETL_TEST_BACKENDS=pglite npm test',
      { cause: error },
    );
  }
  await db.query(noetlSchemaSql(schema, schemaOpts));
  return {
    backend,
    db,
    schema,
    url: POSTGRES_URL,
    async close() {
      await db.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await db.close().catch(() => undefined);
    },
  };
}

/** A plain pg client on the test server, for a second session (locks, races, kills). */
export async function adminClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'noetl-console-test' });
  await client.connect();
  return client;
}

/** Rows of one execution's events, oldest first, for assertions. */
export async function eventsOf(db: Database, schema: string, id: string) {
  const { rows } = await db.query<{
    event_id: string;
    parent_event_id: string | null;
    event_type: string;
    status: string | null;
    meta: Record<string, any> | null;
    result: unknown;
    error: string | null;
    created_at: string;
  }>(`SELECT event_id::text, parent_event_id::text, event_type, status, meta, result, error, created_at::text FROM "${schema}".event WHERE execution_id = $1 ORDER BY event_id`, [
    id,
  ]);
  return rows;
}

export async function eventCount(db: Database, schema: string): Promise<number> {
  const { rows } = await db.query<{ n: string }>(`SELECT count(*)::text AS n FROM "${schema}".event`);
  return Number(rows[0]!.n);
}
