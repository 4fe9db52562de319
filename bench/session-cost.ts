/**
 * What the per-transaction settings cost (src/db/session.ts): each statement
 * of the console is BEGIN + SET LOCAL (one round trip), the statement, COMMIT,
 * pipelined (one round trip), where it used to be the statement alone with
 * the settings given once at start-up. Interleaved, same server, same
 * statements, median of each.
 *
 *   npx esbuild bench/session-cost.ts --bundle --platform=node --format=esm \
 *     --packages=external --outfile=/tmp/session-cost.mjs && node /tmp/session-cost.mjs [url] [reps]
 *
 * Run it through a proxy or pgbouncer URL to see the cost over a longer round trip.
 */
import pg from 'pg';
import { openPostgres } from '../src/db/postgres.js';

const url = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
const reps = Number(process.argv[3] ?? 400);

const statements: [string, string][] = [
  ['SELECT 1', 'SELECT 1'],
  ['catalog scan (~400 rows)', 'SELECT c.relname, c.relkind, n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace ORDER BY 1 LIMIT 400'],
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// The previous implementation: the same small pool, settings in the start-up options.
const oldPool = new pg.Pool({ connectionString: url, application_name: 'noetl-console-bench', options: '-c statement_timeout=15000 -c jit=off', max: 4 });
const old = {
  async query(sql: string) {
    const client = await oldPool.connect();
    try {
      return await client.query(sql);
    } finally {
      client.release();
    }
  },
  end: () => oldPool.end(),
};
const db = openPostgres({
  target: { kind: 'postgres', connectionString: url, label: 'bench' },
  schema: 'noetl',
  readOnly: false,
  statementTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
});
await db.query('SELECT 1');
for (const [name, sql] of statements) {
  const before: number[] = [];
  const after: number[] = [];
  for (let i = 0; i < reps; i++) {
    let t = performance.now();
    await old.query(sql);
    before.push(performance.now() - t);
    t = performance.now();
    await db.query(sql);
    after.push(performance.now() - t);
  }
  const b = median(before);
  const a = median(after);
  console.log(`${name}: start-up settings ${b.toFixed(3)} ms, per-transaction settings ${a.toFixed(3)} ms (+${(a - b).toFixed(3)} ms) median of ${reps}`);
}
await old.end();
await db.close();
