import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../src/errors.js';
import { describeEngines, diagnose, scriptOf, statementsOf, type DoctorReport, type IndexStatus } from '../src/noetl/doctor.js';
import { NoetlSource } from '../src/noetl/source.js';
import { addConnectionOptions, runCommand } from './context.js';
import { validate } from './options.js';

const DoctorOptions = z.object({ json: z.boolean().default(false), script: z.boolean().default(false) }).refine((o) => !(o.json && o.script), {
  message: '--json and --script are exclusive',
});

const LABEL = { ok: 'ok        ', missing: 'missing   ', invalid: 'invalid   ', incomplete: 'incomplete' } as const;

/** What doctor found, one line each: the table, the engines, then each index. */
function reportLines(report: DoctorReport, label: (status: IndexStatus) => string = (st) => LABEL[st]): string[] {
  const t = report.table;
  const shape = t.partitioned ? `partitioned, ${t.partitions.length} partition(s)` : 'not partitioned';
  const lines = [`event table: ${t.name} (${shape})`, `engines: ${describeEngines(report.engines)}`];
  for (const n of t.notHandled) lines.push(`not handled: ${n}`);
  for (const c of report.indexes) {
    lines.push(`${label(c.status)} ${c.name.padEnd(20)} ${c.why}${c.status === 'ok' && c.existing ? ` (${c.existing})` : ''}`);
    if (c.detail) lines.push(`           ${c.detail}`);
  }
  return lines;
}

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
        if (!(ctx.source instanceof NoetlSource)) {
          throw new UsageError(`doctor checks NoETL's event table; source ${ctx.source.name} is a status table (index its status column)`);
        }
        const report = await diagnose(ctx.source.store);
        if (o.json) {
          ctx.printJson({
            schema: ctx.options.schema,
            table: { name: report.table.name, partitioned: report.table.partitioned, partitions: report.table.partitions, not_handled: report.table.notHandled },
            engines: report.engines,
            indexes: report.indexes.map((c) => ({
              name: c.name,
              status: c.status,
              present: c.present,
              existing: c.existing,
              detail: c.detail,
              why: c.why,
              statements: c.steps.map((s) => s.sql),
              partitions: c.partitions,
            })),
            missing: statementsOf(report),
          });
          return;
        }
        const header = ['noetl-console doctor', ...reportLines(report)];
        if (o.script) {
          for (const line of scriptOf(report, header)) ctx.print(line);
          return;
        }
        const c = ctx.color;
        const paint = { ok: c.green, missing: c.yellow, invalid: c.red, incomplete: c.yellow } as const;
        for (const line of reportLines(report, (st) => paint[st](LABEL[st]))) ctx.print(line);
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
