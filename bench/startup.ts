/**
 * Start-up of two or more builds of the bin, interleaved run by run (so that
 * the machine's load falls on each alike): `--version`, `list --help`, and `list --json` on an
 * empty NoETL schema on PostgreSQL and on an on-disk PGlite database. Prints
 * the median of each. For comparing a build with another (e.g. a bundler change):
 *
 *   node build/startup.js [--runs 30] [--database-url URL] dist/cli.js /path/to/other/dist/cli.js
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { openPglite } from '../src/db/pglite.js';
import { openPostgres } from '../src/db/postgres.js';
import { noetlSchemaSql } from '../src/demo/noetl-schema.js';
import { median, run } from './measure.js';

const argv = process.argv.slice(2);
const flag = (name: string, def: string) => {
  const i = argv.indexOf(name);
  if (i < 0) return def;
  return argv.splice(i, 2)[1] ?? def;
};
const runs = Number(flag('--runs', '30'));
const url = flag('--database-url', process.env.NOETL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test');
const bins = argv.map((b) => resolve(b));
if (bins.length === 0 || !(runs >= 1)) {
  process.stderr.write('usage: node build/startup.js [--runs 30] [--database-url URL] BIN [BIN…]\n');
  process.exit(2);
}

const schema = `nc_startup_${randomBytes(4).toString('hex')}`;
const dir = mkdtempSync(join(tmpdir(), 'noetl-console-startup-'));
const options = (target: Parameters<typeof openPglite>[0]['target']) => ({ target, schema, readOnly: false, statementTimeoutMs: 15_000, connectTimeoutMs: 10_000 });
const pg = openPostgres(options({ kind: 'postgres', connectionString: url, label: 'bench' }));
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };

try {
  await pg.query(noetlSchemaSql(schema));
  const lite = await openPglite(options({ kind: 'pglite', dataDir: dir, label: 'bench' }));
  await lite.query(noetlSchemaSql(schema));
  await lite.close();

  const cases: [string, string[]][] = [
    ['--version', ['--version']],
    ['list --help', ['list', '--help']],
    ['list --json (PostgreSQL, empty schema)', ['list', '--json', '--database-url', url, '--schema', schema]],
    ['list --json (PGlite on disk, empty schema)', ['list', '--json', '--database-url', `pglite://${dir}`, '--schema', schema]],
    ['node -e 0 (baseline)', []],
  ];
  const times = new Map<string, number[]>();
  for (let r = -1; r < runs; r++) {
    for (const [name, args] of cases) {
      // Alternate the order of the bins from run to run.
      const order = r % 2 === 0 ? bins : [...bins].reverse();
      for (const bin of name.startsWith('node') ? [''] : order) {
        const t = performance.now();
        const out = await run(process.execPath, bin ? [bin, ...args] : ['-e', '0'], env);
        const ms = performance.now() - t;
        if (out.code !== 0) throw new Error(`${bin} ${args.join(' ')} exited ${out.code}: ${out.stderr}`);
        if (r < 0) continue; // warm-up
        const key = `${name}\t${bin || 'node'}`;
        times.set(key, [...(times.get(key) ?? []), ms]);
      }
    }
  }
  process.stdout.write(`median of ${runs} interleaved runs (ms)\n`);
  for (const [key, values] of times) {
    const [name, bin] = key.split('\t');
    process.stdout.write(`${median(values).toFixed(1).padStart(8)}  ${name}  ${bin}\n`);
  }
} finally {
  await pg.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
  await pg.close();
  rmSync(dir, { recursive: true, force: true });
}
