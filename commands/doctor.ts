import type { Command } from 'commander';
import { z } from 'zod';
import { UsageError } from '../src/errors.js';
import { checkIndexes } from '../src/noetl/doctor.js';
import { NoetlSource } from '../src/noetl/source.js';
import { addConnectionOptions, runCommand } from './context.js';
import { validate } from './options.js';

const DoctorOptions = z.object({ json: z.boolean().default(false) });

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('doctor')
      .description('check the indexes that keep listing and live refresh cheap; prints CREATE INDEX statements, never runs them')
      .option('--json', 'JSON for scripts'),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      () => validate(DoctorOptions, cmd.opts()),
      async (ctx, o) => {
        if (!(ctx.source instanceof NoetlSource)) {
          throw new UsageError(`doctor checks NoETL's event table; source ${ctx.source.name} is a status table (index its status column)`);
        }
        const checks = await checkIndexes(ctx.source.store);
        const missing = checks.filter((c) => !c.present);
        if (o.json) {
          ctx.printJson({ schema: ctx.options.schema, indexes: checks, missing: missing.map((c) => c.statement) });
          return;
        }
        const c = ctx.color;
        for (const check of checks) {
          ctx.print(`${check.present ? c.green('ok     ') : c.yellow('missing')} ${check.name.padEnd(22)} ${c.dim(check.why)}${check.existing ? c.dim(` (${check.existing})`) : ''}`);
        }
        if (missing.length) {
          ctx.print('');
          ctx.print('To add them (each builds without blocking writes; run outside a transaction):');
          for (const m of missing) ctx.print(`  ${m.statement}`);
        } else ctx.print(c.green('All recommended indexes are present.'));
      },
    ),
  );
}
