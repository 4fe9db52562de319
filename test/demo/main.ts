import { NoetlSource } from '../../src/noetl/source.js';
/**
 * `npm run demo`: the interactive console on an embedded PostgreSQL (PGlite)
 * seeded with NoETL-shaped data, while a simulator keeps writing events.
 * Test code, apart from the product: the bin never loads it.
 */
import type { ConnectionOptions } from '../../src/config.js';
import { openPglite } from '../../src/db/pglite.js';
import { colorEnabled } from '../../src/format/color.js';
import { noetlSchemaSql } from '../fixtures/noetl-schema.js';
import { seedDemo } from './seed.js';
import { Simulator } from './simulator.js';

const SCHEMA = 'noetl';

async function main(): Promise<number> {
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    process.stderr.write('npm run demo opens the interactive console and needs a terminal: run it in one (for scripts, see the subcommands: noetl-console --help)\n');
    return 2;
  }
  const say = (text: string) => process.stderr.write(`noetl-console demo: ${text}\n`);
  const options: ConnectionOptions = {
    target: { kind: 'pglite', dataDir: 'memory', label: 'pglite (demo)' },
    schema: SCHEMA,
    readOnly: false,
    statementTimeoutMs: 15_000,
    connectTimeoutMs: 10_000,
  };
  say('starting embedded PostgreSQL (PGlite, about 3 s)…');
  const db = await openPglite(options);
  try {
    say('creating the NoETL schema and seeding executions of both dialects…');
    await db.query(noetlSchemaSql(SCHEMA));
    const scenario = await seedDemo(db, SCHEMA);
    const simulator = new Simulator(db, SCHEMA, scenario);
    await simulator.tick();
    simulator.start();
    say('opening the console (q quits, ? shows the keys)…');
    const { runInteractive } = await import('../../components/run.js');
    try {
      return await runInteractive({
        connection: options,
        olderThanSeconds: 60,
        idleSeconds: null,
        refreshSeconds: 2,
        color: colorEnabled(process.stdout, process.argv.includes('--no-color') ? false : undefined),
        database: db,
        openSource: (open) => new NoetlSource(open, options.schema, 'demo'),
      });
    } finally {
      simulator.stop();
    }
  } finally {
    await db.close().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`noetl-console demo: ${(error as Error).message}\n`);
    process.exit(1);
  },
);
