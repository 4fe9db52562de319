import type { Command } from 'commander';
import * as z from 'zod';
import { newBatch } from '../src/audit.js';
import { EXIT, UsageError } from '../src/errors.js';
import { safeText } from '../src/sanitize.js';
import { NoetlApi } from '../src/noetl/api.js';
import { history } from '../src/noetl/history.js';
import { rerunTargets, startAgain } from '../src/noetl/rerun.js';
import { NoetlSource } from '../src/noetl/source.js';
import { addConnectionOptions, runCommand } from './context.js';
import { refuseWriteWhenReadOnly } from './mark.js';
import { readIds, validate } from './options.js';
import { ioOf } from './io.js';

const RerunOptions = z.object({
  batch: z
    .string()
    .regex(/^\d{8}T\d{6}Z-[0-9a-f]{6}$/, 'expected a batch id like 20261202T130438Z-5e523a')
    .optional(),
  dryRun: z.boolean().default(false),
  rps: z
    .string()
    .regex(/^\d{1,4}(\.\d{1,3})?$/, 'expected requests per second, e.g. 5 or 0.5')
    .transform(Number)
    .refine((n) => n > 0, 'must be more than 0')
    .default(5),
  json: z.boolean().default(false),
});

type Outcome = 'started' | 'would_start' | 'still_running' | 'not_found' | 'error' | 'not_attempted';

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('rerun')
      .description("NoETL: start closed executions again (same playbook version, same workload) through the engine's API")
      .argument('[ids...]', 'execution ids (or - for standard input), or --batch')
      .option('--batch <id>', 'every execution a batch closed (see history)')
      .option('--dry-run', 'show what would be started, start nothing')
      .option('--rps <n>', 'at most n requests a second (default 5)')
      .option('--json', 'JSON for scripts'),
  ).action(async (ids: string[], _opts, cmd: Command) =>
    runCommand(
      cmd,
      async (src) => {
        const o = validate(RerunOptions, cmd.opts());
        if (ids.length > 0 === (o.batch !== undefined)) throw new UsageError('rerun: name execution ids or --batch, one of the two');
        const server = src.server();
        if (!server && !o.dryRun) throw new UsageError("rerun starts executions through the engine's API: give --server URL (or NOETL_SERVER_URL)");
        return { ...o, ids: ids.length > 0 ? await readIds(ids, src.parseId, ioOf(cmd).stdin) : [], server };
      },
      async (ctx, o) => {
        if (!(ctx.source instanceof NoetlSource)) throw new UsageError(`rerun starts NoETL playbooks; source ${ctx.source.name} is a status table`);
        const store = ctx.source.store;
        let ids = o.ids;
        if (o.batch) {
          const [found] = await history(store, { sinceSeconds: 10 * 365 * 86400, user: null, reason: null, executionId: null, batchId: o.batch, limit: 1 });
          if (!found) throw new UsageError(`rerun: no batch ${o.batch} in this database (see \`history\`)`);
          ids = found.execution_ids;
        }
        const batch = newBatch('rerun', { ids: ids.slice(0, 100), named: ids.length, from_batch: o.batch ?? null });
        const api = o.server ? new NoetlApi(o.server) : null;
        const results: { execution_id: string; outcome: Outcome; new_execution_id: string | null; path: string | null; catalog_id: string | null; message?: string }[] = [];
        let failed: Error | null = null;
        let last = 0;
        for (const t of await rerunTargets(store, ids)) {
          const base = { execution_id: t.execution_id, path: t.path, catalog_id: t.catalog_id, new_execution_id: null };
          if (!t.found) results.push({ ...base, outcome: 'not_found' });
          else if (t.running) results.push({ ...base, outcome: 'still_running', message: 'close it first' });
          else if (o.dryRun) results.push({ ...base, outcome: 'would_start' });
          else if (failed) results.push({ ...base, outcome: 'not_attempted' });
          else {
            const wait = last + 1000 / o.rps - Date.now();
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
            last = Date.now();
            try {
              results.push({ ...base, outcome: 'started', new_execution_id: await startAgain(api!, t, batch) });
            } catch (error) {
              failed = error as Error;
              results.push({ ...base, outcome: 'error', message: (error as Error).message });
            }
          }
        }
        const counts: Record<string, number> = {};
        for (const r of results) counts[r.outcome] = (counts[r.outcome] ?? 0) + 1;
        if (o.json) ctx.printJson({ batch_id: o.dryRun ? null : batch.id, dry_run: o.dryRun, counts, results });
        else {
          for (const r of results) {
            const what = r.outcome === 'started' ? `started again as ${r.new_execution_id}` : r.outcome.replace(/_/g, ' ');
            ctx.print(`${r.execution_id}  ${safeText(r.path ?? '?', 80)}  ${what}${r.message ? `: ${safeText(r.message, 200)}` : ''}`);
          }
        }
        if (failed) throw failed;
        return results.every((r) => r.outcome === 'started' || r.outcome === 'would_start') ? EXIT.ok : EXIT.partial;
      },
      (options, o) => refuseWriteWhenReadOnly(options, o.dryRun, 'rerun'),
    ),
  );
}
