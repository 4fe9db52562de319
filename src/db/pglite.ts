import { mkdirSync } from 'node:fs';
import pg from 'pg';
import type { ConnectionOptions } from '../config.js';
import type { Database, QueryResult, Queryable } from './database.js';
import { writeGate } from './write-gate.js';

/** A FIFO mutex: PGlite is one session, so queries and transactions take turns. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}

/**
 * Embedded PostgreSQL (WASM) driven through pg with PGlite's adapter, so rows
 * are parsed exactly as from a real server (int8 as string). One client only.
 */
export async function openPglite(options: ConnectionOptions): Promise<Database> {
  const target = options.target;
  if (target.kind !== 'pglite') throw new Error('openPglite needs a pglite target');
  const { PGlite } = await import('@electric-sql/pglite');
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const memory = target.dataDir === 'memory' || target.dataDir === 'memory://';
  if (!memory) mkdirSync(target.dataDir, { recursive: true });
  const pglite = new PGlite(memory ? undefined : target.dataDir);
  await pglite.waitReady;
  const client = new pg.Client(createPgConfig(pglite) as unknown as pg.ClientConfig);
  await client.connect();
  if (options.readOnly) await client.query('SET default_transaction_read_only = on');
  await client.query(`SET application_name = 'noetl-console'`);
  const mutex = new Mutex();

  const raw = async <R>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    const res = await client.query(text, params as unknown[] | undefined);
    return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
  };

  return {
    kind: 'pglite',
    label: target.label,
    query: (text, params) => mutex.run(() => raw(text, params)),
    async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      // In process: no lost connection, so a write either committed or rolled back.
      writeGate.enter();
      let committed = false;
      return mutex
        .run(async () => {
          await raw('BEGIN');
          try {
            const result = await fn({ query: raw });
            await raw('COMMIT');
            committed = true;
            return result;
          } catch (error) {
            await raw('ROLLBACK').catch(() => undefined);
            throw error;
          }
        })
        .finally(() => writeGate.leave(committed ? 'committed' : 'rolled back'));
    },
    isReplica: () => Promise.resolve(false),
    async close() {
      await mutex.run(async () => {
        await client.end().catch(() => undefined);
        await pglite.close();
      });
    },
  };
}
