import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import pgpass from 'pgpass';
import pgpassHelper from 'pgpass/lib/helper.js';
import { createReadStream, stat } from 'node:fs';
import type { ConnectionOptions } from '../config.js';
import type { Database, QueryResult, Queryable } from './database.js';
import { OperationalError, describeDatabaseError } from '../errors.js';
import { CommitUnknownError, NoAnswerError, ReplicaError, RolledBackError } from './errors.js';
import { APPLICATION_NAME, REFUSED_URL_PARAMETERS, beginSql, optionsConflict, sessionLimits } from './session.js';
import { writeGate, type WriteOutcome } from './write-gate.js';

export { APPLICATION_NAME };

const ASCII_PASSTHROUGH = `DO $$ BEGIN
  IF current_setting('server_encoding') = 'SQL_ASCII' THEN PERFORM set_config('client_encoding', 'SQL_ASCII', false); END IF;
END $$`;

/** A pg client that keeps the server_encoding the server reports at start-up (ParameterStatus). */
class EncodingClient extends pg.Client {
  serverEncoding: string | undefined;
  constructor(config?: pg.ClientConfig) {
    super(config);
    (this as unknown as { connection: NodeJS.EventEmitter }).connection.on('parameterStatus', (m: { parameterName: string; parameterValue: string }) => {
      if (m.parameterName === 'server_encoding') this.serverEncoding = m.parameterValue;
    });
  }
}

/** Statements PostgreSQL refuses inside a transaction block (doctor's index script, run by hand or by tests). */
const OUTSIDE_TRANSACTION = /^\s*(?:(?:CREATE\s+(?:UNIQUE\s+)?|DROP\s+)INDEX\s+CONCURRENTLY|REINDEX\b[^;]*\bCONCURRENTLY|VACUUM\b|(?:CREATE|DROP)\s+DATABASE\b|ALTER\s+SYSTEM\b)/i;

/** How long close() waits for sessions in use before it drops their sockets. */
const CLOSE_GRACE_MS = 500;

/** PGPASSWORD, then the .pgpass file (PGPASSFILE, else ~/.pgpass), of the command's environment. */
function passwordFromEnvironment(env: Record<string, string | undefined> | undefined) {
  return (params: Record<string, unknown>): Promise<string | undefined> => {
    const vars = env ?? process.env;
    if (vars.PGPASSWORD) return Promise.resolve(vars.PGPASSWORD);
    if (!env) return new Promise((resolve) => pgpass(params, resolve));
    const file = pgpassHelper.getFileName(env);
    return new Promise((resolve) =>
      stat(file, (error, stats) => {
        if (error || !pgpassHelper.usePgPass(stats, file)) return resolve(undefined);
        pgpassHelper.getPassword(params, createReadStream(file), resolve);
      }),
    );
  };
}

const SSL_MODES: Record<string, pg.ConnectionConfig['ssl']> = {
  disable: false,
  prefer: true,
  require: true,
  'verify-ca': true,
  'verify-full': true,
  'no-verify': { rejectUnauthorized: false },
};

/**
 * What pg would take from process.env when the URL does not say, taken from
 * the command's environment instead (a command run in process connects as
 * the bin would). A URL's own parts win.
 */
function libpqDefaults(env: Record<string, string> | undefined): pg.PoolConfig {
  if (!env) return {};
  const user = env.PGUSER || env.USER || 'postgres';
  return {
    host: env.PGHOST || 'localhost',
    port: Number(env.PGPORT || 5432),
    user,
    database: env.PGDATABASE || user,
    ...(env.PGOPTIONS ? { options: env.PGOPTIONS } : {}),
    ...(env.PGCLIENTENCODING ? { client_encoding: env.PGCLIENTENCODING } : {}),
    ssl: env.PGSSLMODE !== undefined && env.PGSSLMODE in SSL_MODES ? SSL_MODES[env.PGSSLMODE] : false,
  };
}

/** An error the server sent for a statement: the session itself is still sound. */
function serverError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(57P|08)/.test(code);
}

function dropSocket(client: pg.Client): void {
  (client as unknown as { connection?: { stream?: { destroy(): void } } }).connection?.stream?.destroy();
}

/**
 * A real PostgreSQL server through a small pg.Pool. Every statement runs in
 * an explicit transaction that carries the console's settings (session.ts),
 * every round trip has a client-side deadline after which the socket is
 * destroyed, and a COMMIT whose answer is lost is settled on a fresh
 * connection with txid_status().
 */
export function openPostgres(options: ConnectionOptions): Database {
  const target = options.target;
  if (target.kind !== 'postgres') throw new Error('openPostgres needs a postgres target');
  const limits = sessionLimits(options.statementTimeoutMs);
  const label = target.label;
  // The URL is parsed here rather than handed to pg: the start-up settings
  // that would contend with the console's are refused (config.ts), and dropped
  // here too should a caller skip that check. Its other options (TimeZone,
  // search_path) pass through; the console's own travel in every transaction.
  const url = (target.connectionString ? parseConnectionString(target.connectionString) : {}) as Record<string, unknown>;
  for (const key of Object.keys(url)) if ((REFUSED_URL_PARAMETERS as readonly string[]).includes(key.toLowerCase())) delete url[key];
  if (typeof url.options === 'string' && optionsConflict(url.options) !== null) delete url.options;
  for (const key of Object.keys(url)) if (url[key] === undefined || url[key] === null || url[key] === '') delete url[key];
  const config: pg.PoolConfig = {
    ...libpqDefaults(target.env),
    ...(url as pg.PoolConfig),
    // Without a password in the URL: PGPASSWORD, then ~/.pgpass (PGPASSFILE),
    // looked up here since pg's own lookup prints a deprecation warning.
    password: (url.password as string | undefined) ?? (passwordFromEnvironment(target.env) as unknown as () => Promise<string>),
    // Also at start-up, so that pg_stat_activity names an idle session; each transaction sets it again.
    application_name: APPLICATION_NAME,
    // A peer that vanished (NAT state dropped, host gone) is noticed on an idle pooled session too.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    connectionTimeoutMillis: options.connectTimeoutMs,
  };
  // Pipelined: a read's BEGIN + settings, the statement and its COMMIT go out
  // together and cost one round trip, not three (bench/session-cost.ts).
  const pool = new pg.Pool({ ...config, Client: EncodingClient, pipeline: true, max: 4, idleTimeoutMillis: 30_000 } as pg.PoolConfig);
  // An idle client that the server drops must not crash the process.
  pool.on('error', () => {});
  const clients = new Set<pg.Client>();
  pool.on('connect', (client) => clients.add(client));
  pool.on('remove', (client) => clients.delete(client));

  /** One round trip, bounded: no answer within the deadline destroys the connection. */
  const timed = <T>(client: pg.Client, work: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        dropSocket(client);
        reject(new NoAnswerError(label, limits.deadlineMs));
      }, limits.deadlineMs);
    });
    return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  };

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
        // The server named its encoding at start-up: a round trip only for SQL_ASCII (or when it did not say).
        const encoding = (client as unknown as EncodingClient).serverEncoding;
        if (encoding !== undefined && encoding !== 'SQL_ASCII') {
          prepared.add(client);
          return client;
        }
        await timed(client, client.query(ASCII_PASSTHROUGH));
      } catch (error) {
        client.release(true);
        throw error;
      }
      prepared.add(client);
    }
    return client;
  };
  const run = async <R>(client: pg.Client, text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    const res = await timed(client, client.query(text, params as unknown[] | undefined));
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };

  /**
   * Run fn in one transaction on one pooled session. After a server error the
   * transaction is rolled back and the session reused; after anything else
   * (deadline, lost connection) the session is destroyed.
   */
  const inTransaction = async <T>(mode: 'read' | 'write', fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await checkout();
    let broken = false;
    try {
      await run(client, beginSql(options.readOnly ? 'read-only' : mode, limits));
      const result = await fn(client);
      return result;
    } catch (error) {
      broken = !serverError(error);
      if (!broken) {
        try {
          await run(client, 'ROLLBACK');
        } catch {
          broken = true;
        }
      }
      throw error;
    } finally {
      client.release(broken ? true : undefined);
    }
  };

  /** After a lost COMMIT answer: what became of transaction `xid`, asked on a new connection. */
  const settle = async (xid: string): Promise<'committed' | 'aborted' | string> => {
    const until = Date.now() + limits.idleInTransactionMs + limits.deadlineMs;
    let last = 'no answer';
    while (Date.now() < until) {
      const fresh = new pg.Client(config);
      fresh.on('error', () => {});
      try {
        await timed(fresh, fresh.connect());
        await run(fresh, beginSql('read', limits));
        const { rows } = await run<{ status: string | null }>(fresh, 'SELECT txid_status($1::bigint) AS status', [xid]);
        await run(fresh, 'COMMIT');
        const status = rows[0]?.status ?? 'unknown to the server';
        // "in progress": the server has not seen the COMMIT yet (or is still
        // working on it); its idle-in-transaction timeout ends it otherwise.
        if (status !== 'in progress') return status;
        last = 'still in progress';
      } catch (error) {
        last = (error as Error).message;
      } finally {
        await Promise.race([fresh.end().catch(() => undefined), new Promise((r) => setTimeout(r, CLOSE_GRACE_MS))]);
        dropSocket(fresh);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    return last;
  };

  return {
    kind: 'postgres',
    label,
    async query<R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const client = await checkout();
      if (OUTSIDE_TRANSACTION.test(text)) {
        // On its own, bounded by the deadline only; the console never sends one itself.
        let broken = false;
        try {
          return await run<R>(client, text, params);
        } catch (error) {
          broken = !serverError(error);
          throw error;
        } finally {
          client.release(broken ? true : undefined);
        }
      }
      // All three at once. A failed statement aborts the transaction and the
      // COMMIT then rolls it back (no error): the session is clean again.
      const [begin, result, commit] = await Promise.allSettled([
        run(client, beginSql(options.readOnly ? 'read-only' : 'read', limits)),
        run<R>(client, text, params),
        run(client, 'COMMIT'),
      ]);
      const failure = [begin, result, commit].find((r): r is PromiseRejectedResult => r.status === 'rejected');
      client.release(failure && (!serverError(failure.reason) || commit.status === 'rejected') ? true : undefined);
      if (failure) throw failure.reason;
      return (result as PromiseFulfilledResult<QueryResult<R>>).value;
    },
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      writeGate.enter();
      let outcome: WriteOutcome = 'rolled back';
      let commitSent = false;
      try {
        const value = await inTransaction('write', async (client) => {
          const value = await fn({ query: (text, params) => run(client, text, params) });
          const xid = (await run<{ xid: string | null }>(client, 'SELECT txid_current_if_assigned()::text AS xid')).rows[0]?.xid ?? null;
          commitSent = true;
          try {
            await run(client, 'COMMIT');
          } catch (error) {
            if (serverError(error)) throw error;
            // The COMMIT went out and no answer came back: it may be in or not.
            dropSocket(client);
            if (xid === null) throw new RolledBackError(label); // nothing had been written
            const status = await settle(xid);
            if (status === 'aborted') throw new RolledBackError(label);
            if (status !== 'committed') {
              outcome = 'unknown';
              throw new CommitUnknownError(label, status);
            }
            options.onNotice?.(`the answer to the COMMIT on ${label} was lost; re-read on a new connection: committed`);
          }
          return value;
        }).catch(async (error: unknown) => {
          // On a hot standby BEGIN READ WRITE (or the write) is refused: say so.
          const code = (error as { code?: string })?.code;
          if (!options.readOnly && (code === '0A000' || code === '25006') && (await isReplica().catch(() => false))) throw new ReplicaError(label);
          // The session was lost before COMMIT: the server rolls the transaction back.
          if (!commitSent && !serverError(error)) throw new OperationalError(`${describeDatabaseError(error, label)}; no COMMIT was sent: nothing was written`);
          throw error;
        });
        outcome = 'committed';
        return value;
      } finally {
        writeGate.leave(outcome);
      }
    },
    isReplica,
    async close() {
      const ended = pool.end().catch(() => undefined);
      const timer = setTimeout(() => {
        for (const client of clients) dropSocket(client);
      }, CLOSE_GRACE_MS);
      await ended;
      clearTimeout(timer);
    },
  };

  async function isReplica(): Promise<boolean> {
    const client = await checkout();
    let broken = false;
    try {
      const { rows } = await run<{ r: boolean }>(client, 'SELECT pg_is_in_recovery() AS r');
      return rows[0]?.r === true;
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      client.release(broken ? true : undefined);
    }
  }
}
