import type { Command } from 'commander';
import * as z from 'zod';
import { UsageError } from '../src/errors.js';
import { SCRIPT_TITLE, diagnose, reportJson, reportLines, scriptOf, statementsOf } from '../src/noetl/doctor.js';
import { NoetlSource } from '../src/noetl/source.js';
import { addConnectionOptions, runCommand } from './context.js';
import { validate } from './options.js';

const DoctorOptions = z.object({ json: z.boolean().default(false), script: z.boolean().default(false) }).refine((o) => !(o.json && o.script), {
  message: '--json and --script are exclusive',
});

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('doctor')
      .description('check the indexes that keep listing and live refresh cheap; prints the statements that add them, never runs them')
      .option('--script', 'print only a psql script that adds what is missing (the report in its comments)')
      .option('--json', 'JSON for scripts'),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      () => validate(DoctorOptions, cmd.opts()),
      async (ctx, o) => {
        if (ctx.resolved.shards !== null) {
          throw new UsageError(`doctor checks one database; source ${ctx.source.name} is sharded: run it on each shard (--database-url URL --schema NAME)`);
        }
        if (!(ctx.source instanceof NoetlSource)) {
          throw new UsageError(`doctor checks NoETL's event table; source ${ctx.source.name} is a status table (index its status column)`);
        }
        const report = await diagnose(ctx.source.store);
        if (o.json) {
          ctx.printJson(reportJson(report, ctx.options.schema));
          return;
        }
        if (o.script) {
          for (const line of scriptOf(report, [SCRIPT_TITLE, ...reportLines(report)])) ctx.print(line);
          return;
        }
        const c = ctx.color;
        const paint = { ok: c.green, missing: c.yellow, invalid: c.red, incomplete: c.yellow } as const;
        for (const line of reportLines(report, (status, text) => paint[status](text))) ctx.print(line);
        if (report.indexes.length === 0) return;
        if (statementsOf(report).length === 0) {
          ctx.print(c.green('All recommended indexes are present and valid.'));
          return;
        }
        ctx.print('');
        for (const line of scriptOf(report, [])) ctx.print(line);
      },
    ),
  );
}
