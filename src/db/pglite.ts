import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
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
  const { createPgConfig } = await import('@electric-sql/pglite/node-postgres');
  const memory = target.dataDir === 'memory' || target.dataDir === 'memory://';
  const dir = memory ? null : resolve(target.dataDir);
  const kept = dir && engines ? engines.get(dir) : undefined;
  const engine = kept ?? (await startEngine(dir));
  if (dir && engines && !kept) engines.set(dir, engine);
  const { pglite, mutex } = engine;
  const client = new pg.Client(createPgConfig(pglite) as unknown as pg.ClientConfig);
  await mutex.run(async () => {
    await client.connect();
    if (options.readOnly) await client.query('SET default_transaction_read_only = on');
    await client.query(`SET application_name = 'noetl-console'`);
  });

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
        if (engines?.get(dir ?? '') === engine) {
          // The engine stays open for the next session: leave it as a new session finds it.
          await raw('ROLLBACK').catch(() => undefined);
          await raw('DISCARD ALL').catch(() => undefined);
          await client.end().catch(() => undefined);
          return;
        }
        await client.end().catch(() => undefined);
        await pglite.close();
      });
    },
  };
}

interface Engine {
  pglite: PGliteInstance;
  /** PGlite is one session: every session opened on it takes turns with the others. */
  mutex: Mutex;
}
type PGliteInstance = InstanceType<typeof import('@electric-sql/pglite').PGlite>;

async function startEngine(dir: string | null): Promise<Engine> {
  const { PGlite } = await import('@electric-sql/pglite');
  if (dir) mkdirSync(dir, { recursive: true });
  const pglite = new PGlite(dir ?? undefined);
  await pglite.waitReady;
  return { pglite, mutex: new Mutex() };
}

/**
 * Data directories whose engine stays open when their sessions close, so that
 * many commands run in one process (the test suite runs the bin's commands in
 * process) start a session in milliseconds instead of a PGlite (about a
 * second each). Off in the bin: there each command is its own process.
 */
let engines: Map<string, Engine> | null = null;

export function keepPgliteEngines(): void {
  engines ??= new Map();
}

/** Close kept engines (all, or one directory's): before another process opens the directory, or at the end. */
export async function releasePgliteEngines(dataDir?: string): Promise<void> {
  if (!engines) return;
  const dirs = dataDir === undefined ? [...engines.keys()] : [resolve(dataDir)];
  for (const dir of dirs) {
    const engine = engines.get(dir);
    if (!engine) continue;
    engines.delete(dir);
    await engine.mutex.run(() => engine.pglite.close()).catch(() => undefined);
  }
}
