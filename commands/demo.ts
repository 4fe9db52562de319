import { existsSync, readdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import * as z from 'zod';
import { SCHEMA_NAME, parseDatabaseUrl, type ConnectionOptions } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open.js';
import { EXIT, UsageError, quoted, redact } from '../src/errors.js';
import { colorEnabled } from '../src/format/color.js';
import { NoetlSource } from '../src/noetl/source.js';
import { fail } from './context.js';
import { validate } from './options.js';
import { ioOf, setExitCode, type Io } from './io.js';

const DemoOptions = z.object({
  dataDir: z.string().min(1, 'must not be empty').optional(),
  seedInto: z.string().min(1, 'must not be empty').optional(),
  schema: z.string().regex(SCHEMA_NAME, 'not a valid schema name (letters, digits, underscore; at most 63)').default('noetl'),
  force: z.boolean().default(false),
  simulate: z.boolean().default(false),
  color: z.boolean().default(true),
});

/** A PGlite directory the demo may write: absent, empty, or holding a PGlite database. */
function dataDirTarget(raw: string, cwd: string): ConnectionOptions['target'] {
  const dir = resolve(cwd, raw);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new UsageError(`--data-dir: ${quoted(dir, 200)} is not a directory`);
    if (readdirSync(dir).length > 0 && !existsSync(resolve(dir, 'PG_VERSION'))) {
      throw new UsageError(`--data-dir: ${quoted(dir, 200)} is not empty and holds no PGlite database: choose a new directory`);
    }
  }
  return { kind: 'pglite', dataDir: dir, label: `pglite:${dir}` };
}

/** The commands to try on the seeded data, with one of its stuck executions. */
async function printNextSteps(db: Database, options: ConnectionOptions, url: string, io: Io): Promise<void> {
  const stuck = await new NoetlSource(db, options.schema).listStuck({ olderThanSeconds: 300, idleSeconds: null, path: null, includeChildren: false, limit: null });
  const conn = `--database-url ${url}${options.schema === 'noetl' ? '' : ` --schema ${options.schema}`}`;
  const id = stuck[0]?.execution_id ?? 'ID';
  io.stdout.write(
    [
      `${stuck.length} stuck executions (and their history) in ${options.target.label}, schema ${options.schema}. Try:`,
      `  noetl-console list ${conn}`,
      `  noetl-console show ${id} ${conn}`,
      `  noetl-console cancel ${id} --cascade --reason "tried the demo" ${conn}`,
      `  noetl-console ${conn}      # the console`,
      '',
    ].join('\n'),
  );
}

async function runDemo(cmd: Command, io: Io): Promise<number> {
  const say = (text: string) => void io.stderr.write(`noetl-console demo: ${text}\n`);
  const o = validate(DemoOptions, cmd.opts());
  if (o.dataDir !== undefined && o.seedInto !== undefined) throw new UsageError('--data-dir and --seed-into: choose one');
  if (o.force && o.dataDir === undefined && o.seedInto === undefined) throw new UsageError('--force replaces the demo schema in --data-dir or --seed-into: name one');
  const memory = o.dataDir === undefined && o.seedInto === undefined;
  // PGlite is one process: the simulator on a data directory runs beside the console, in this process.
  const interactive = memory || (o.dataDir !== undefined && o.simulate);
  // The console draws on the process's own terminal: the bin's alone.
  if (interactive && (!io.ownsProcess || !io.stdin.isTTY || !io.stdout.isTTY)) {
    throw new UsageError('the demo opens the interactive console and needs a terminal; for data to use with the subcommands: demo --data-dir DIR, or demo --seed-into URL');
  }
  const target: ConnectionOptions['target'] = memory
    ? { kind: 'pglite', dataDir: 'memory', label: 'pglite (demo)' }
    : o.dataDir !== undefined
      ? dataDirTarget(o.dataDir, io.cwd)
      : parseDatabaseUrl(o.seedInto!, '--seed-into');
  const url = target.kind === 'pglite' ? `pglite://${target.dataDir}` : redact(o.seedInto!);
  const options: ConnectionOptions = { target, schema: o.schema, readOnly: false, statementTimeoutMs: 60_000, connectTimeoutMs: 10_000 };

  if (target.kind === 'pglite') say(`starting embedded PostgreSQL (PGlite, ${memory ? 'about 3 s' : `in ${target.dataDir}`})…`);
  const db = await openDatabase(options);
  try {
    const { createDemo, findSchema, resumeDemo } = await import('../src/demo/setup.js');
    const found = memory ? null : await findSchema(db, o.schema);
    let scenario;
    if (found && !o.force) {
      if (!(o.simulate && found.demo)) {
        const what = `${found.demo ? 'demo data' : 'a schema'}${found.events === null ? '' : ` with ${found.events} events`}`;
        throw new UsageError(
          `${target.label} already has schema ${o.schema} (${what}): nothing written; --force drops it and seeds the demo in its place, or choose another --schema`,
        );
      }
      say(`resuming the demo data in ${target.label}, schema ${o.schema}`);
      scenario = await resumeDemo(db, o.schema);
    } else {
      say(`${found ? 'dropping and re-creating' : 'creating'} schema ${o.schema} and seeding executions of both NoETL dialects…`);
      scenario = await createDemo(db, o.schema, found !== null);
    }
    if (!memory && !o.simulate) {
      await printNextSteps(db, options, url, io);
      return EXIT.ok;
    }

    const { Simulator } = await import('../src/demo/simulator.js');
    const simulator = new Simulator(db, o.schema, scenario);
    await simulator.tick();
    simulator.start();
    try {
      if (!interactive) {
        // It runs until a signal: the bin's alone.
        if (!io.ownsProcess) throw new UsageError('--simulate runs until a signal: run it as its own process');
        say(`simulating in ${target.label}, schema ${o.schema}: executions start, progress, finish or get stuck; Ctrl-C stops`);
        say(`watch it from another terminal: noetl-console --database-url ${url}${o.schema === 'noetl' ? '' : ` --schema ${o.schema}`}`);
        await new Promise<void>((done) => {
          for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(signal, () => done());
        });
        return EXIT.ok;
      }
      say('opening the console (q quits, ? shows the keys)…');
      const { runInteractive } = await import('../components/run.js');
      return await runInteractive({
        connection: options,
        olderThanSeconds: 60,
        idleSeconds: null,
        refreshSeconds: 2,
        color: colorEnabled(io.stdout, o.color ? undefined : false, io.env),
        database: db,
        openSource: (open) => new NoetlSource(open, o.schema, 'demo'),
      });
    } finally {
      simulator.stop();
    }
  } finally {
    await db.close().catch(() => undefined);
  }
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('the console on an embedded demo database with live activity; or demo data for the subcommands')
    .option('--data-dir <dir>', 'write the demo database to this directory (PGlite), for --database-url pglite:///<dir>')
    .option('--seed-into <url>', 'create the demo schema and executions in this PostgreSQL database')
    .option('--schema <name>', 'schema for the demo data', 'noetl')
    .option('--force', 'replace a schema of that name that already exists (drops it)')
    .option('--simulate', 'keep executions starting, progressing and getting stuck (with --data-dir: in the console)')
    .option('--no-color', 'no colour (also NO_COLOR)')
    .addHelpText(
      'after',
      `
Examples:
  noetl-console demo
  noetl-console demo --data-dir /tmp/noetl-demo
  noetl-console list --database-url pglite:///tmp/noetl-demo
  noetl-console demo --seed-into postgres://postgres@127.0.0.1/test --simulate
`,
    )
    .action(async (_opts, cmd: Command) => {
      const io = ioOf(cmd);
      try {
        setExitCode(cmd, await runDemo(cmd, io));
      } catch (error) {
        setExitCode(cmd, fail(error, 'the demo database', io));
      }
    });
}
