import type { Command } from 'commander';
import * as z from 'zod';
import { EXIT } from '../src/errors.js';
import { showLines } from '../src/format/human.js';
import { showJson } from '../src/format/json-rows.js';
import { addConnectionOptions, runCommand } from './context.js';
import { countFlag, validate } from './options.js';

const ShowOptions = z.object({
  events: countFlag('--events', 100_000).default(50),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('show')
      .description('one execution: state, diagnosis, recent events, child tree')
      .argument('<id>', 'execution id')
      .option('--events <n>', 'how many recent events to show', '50')
      .option('--json', 'JSON for scripts'),
  ).action(async (id: string, _opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => ({ id: src.parseId(id), ...validate(ShowOptions, cmd.opts()) }),
      async (ctx, o) => {
        const detail = await ctx.source.detail(o.id, o.events);
        if (!detail) {
          if (o.json) ctx.printJson({ execution_id: o.id, state: 'not_found' });
          ctx.io.stderr.write(`noetl-console: execution ${o.id} not found\n`);
          return EXIT.partial;
        }
        if (o.json) {
          ctx.printJson(showJson(detail));
        } else {
          for (const line of showLines(detail, ctx.color)) ctx.print(line);
        }
      },
    ),
  );
}
