import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import pgpass from 'pgpass';
import type { ConnectionOptions } from '../config.js';
import type { Database, QueryResult, Queryable } from './database.js';

export const APPLICATION_NAME = 'noetl-console';

const ASCII_PASSTHROUGH = `DO $$ BEGIN
  IF current_setting('server_encoding') = 'SQL_ASCII' THEN PERFORM set_config('client_encoding', 'SQL_ASCII', false); END IF;
END $$`;

function passwordFromEnvironment(params: Record<string, unknown>): Promise<string | undefined> {
  if (process.env.PGPASSWORD) return Promise.resolve(process.env.PGPASSWORD);
  return new Promise((resolve) => pgpass(params, resolve));
}

/** A real PostgreSQL server through a small pg.Pool. */
export function openPostgres(options: ConnectionOptions): Database {
  const target = options.target;
  if (target.kind !== 'postgres') throw new Error('openPostgres needs a postgres target');
  // JIT compiles the listing query for ~100 ms and saves nothing on a result of a few thousand rows.
  const settings = [`-c statement_timeout=${options.statementTimeoutMs}`, '-c jit=off'];
  // The session itself refuses writes, so no code path can write by mistake.
  if (options.readOnly) settings.push('-c default_transaction_read_only=on');
  // The URL is parsed here rather than handed to pg, where its own ?options=
  // or ?application_name= would replace the console's settings (read-only
  // included). Its options come first, so the console's -c settings win.
  const url = target.connectionString ? parseConnectionString(target.connectionString) : ({} as ReturnType<typeof parseConnectionString>);
  const pool = new pg.Pool({
    ...(url as pg.PoolConfig),
    // Without a password in the URL: PGPASSWORD, then ~/.pgpass (PGPASSFILE),
    // looked up here since pg's own lookup prints a deprecation warning.
    password: url.password ?? (passwordFromEnvironment as unknown as () => Promise<string>),
    application_name: APPLICATION_NAME,
    options: [url.options, ...settings].filter(Boolean).join(' '),
    connectionTimeoutMillis: options.connectTimeoutMs,
    max: 4,
    idleTimeoutMillis: 30_000,
  });
  // An idle client that the server drops must not crash the process.
  pool.on('error', () => {});
  // On a SQL_ASCII server, asking for UTF8 output makes the server reject a
  // row with invalid bytes, so one bad row would make the event log
  // unreadable: each new session takes the bytes raw instead (they decode to
  // U+FFFD), before its first query.
  const prepared = new WeakSet<pg.PoolClient>();
  const checkout = async (): Promise<pg.PoolClient> => {
    const client = await pool.connect();
    if (!prepared.has(client)) {
      client.on('error', () => {});
      try {
        await client.query(ASCII_PASSTHROUGH);
      } catch (error) {
        client.release(true);
        throw error;
      }
      prepared.add(client);
    }
    return client;
  };
  const run = async <R>(client: pg.PoolClient, text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    const res = await client.query(text, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };

  return {
    kind: 'postgres',
    label: target.label,
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const client = await checkout();
      let broken = false;
      try {
        return await run<R>(client, text, params);
      } catch (error) {
        // A session the server ended is not returned to the pool.
        broken = !(error as { code?: string }).code || /^(57P|08)/.test((error as { code: string }).code);
        throw error;
      } finally {
        client.release(broken ? true : undefined);
      }
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      const client = await checkout();
      const tx: Queryable = { query: (text, params) => run(client, text, params) };
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true;
        }
        throw error;
      } finally {
        client.release(broken ? true : undefined);
      }
    },
    async close() {
      await pool.end();
    },
  };
}
