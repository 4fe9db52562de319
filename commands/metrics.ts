import type { Command } from 'commander';
import * as z from 'zod';
import { UsageError, quoted } from '../src/errors.js';
import { MetricsCache, renderMetrics, renderSeries, serveMetrics, snapshotOf, type MetricsOptions, type Series } from '../src/metrics.js';
import { historyDaysFlag, historyDaysOption, historyRows, judgingOf, policyFrom, policyOption, thresholdsOf } from './policy.js';
import type { Policy } from '../src/policy.js';
import type { LiveSet } from '../src/source.js';
import { sessionLimits } from '../src/db/session.js';
import { addConnectionOptions, addSnapshotOptions, runCommand } from './context.js';
import { countFlag, durationFlag, validate } from './options.js';
import { addFlags, fieldsOf, longRunning, olderThan, thresholds } from './flags.js';

const FLAGS = [olderThan(), longRunning()] as const;

export const listenFlag = z.string().transform((raw, ctx) => {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[2]) : 0;
  if (!m || port < 1 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `--listen: expected HOST:PORT such as 127.0.0.1:9464; got ${quoted(raw, 60)}` });
    return z.NEVER;
  }
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
});

const MetricsOptions = z.object({
  ...fieldsOf(FLAGS),
  top: countFlag('--top', 1000),
  policy: z.boolean().default(false),
  historyDays: historyDaysFlag,
  listen: listenFlag.optional(),
  cache: durationFlag('--cache', 's', { min: 1, max: 3600 }),
});

export function register(program: Command): void {
  addSnapshotOptions(
    addConnectionOptions(
      addFlags(program.command('metrics').description('Prometheus metrics: print once (node_exporter textfile collector), or serve /metrics with --listen'), FLAGS)
        .option('--top <n>', 'per-path series for the n paths with the most running executions', '10')
        .option('--listen <host:port>', 'serve /metrics over HTTP until SIGTERM, e.g. 127.0.0.1:9464')
        .option('--cache <seconds>', 'with --listen: scrapes within this period share one database read', '5')
        .option(...policyOption)
        .option(...historyDaysOption),
    ),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => {
        const given = validate(MetricsOptions, cmd.opts());
        const judging = judgingOf(src, given.historyDays);
        return { ...given, judging, rules: given.policy ? policyFrom(src, judging) : null };
      },
      async (ctx, given) => {
        // The same thresholds as health: flag, else the config's health section, else the default.
        const o = thresholds(cmd, given, ctx.resolved.health);
        const rules = o.rules;
        const options: MetricsOptions = {
          stuckSeconds: o.olderThan,
          longRunningSeconds: o.longRunning,
          topPaths: o.top,
          context: ctx.resolved.context?.name ?? null,
          ...(rules
            ? {
                extra: async (live: LiveSet) => {
                  const map = await thresholdsOf(ctx, o.judging);
                  const rows = historyRows(live.view({ olderThanSeconds: 0, includeChildren: true }), map, o.judging);
                  return [policySeries(rules, rules.stuck(rows, map), ctx.resolved.context?.name ?? null)];
                },
              }
            : {}),
        };
        // The incremental running set: a server that is scraped every 15 s reads only what changed.
        const live = ctx.source.live();
        if (!o.listen) {
          const started = performance.now();
          try {
            await live.refresh();
          } catch (error) {
            // The textfile collector still gets a file that says the read failed.
            ctx.io.stdout.write(renderMetrics(null, options, (performance.now() - started) / 1000));
            throw error;
          }
          const extra = options.extra ? renderSeries(await options.extra(live)) : '';
          ctx.io.stdout.write(renderMetrics(snapshotOf(live, options), options, (performance.now() - started) / 1000) + extra);
          return;
        }
        // Serving runs until a termination signal: the bin's alone.
        if (!ctx.io.ownsProcess) throw new UsageError('--listen serves until SIGTERM: run it as its own process');
        const cache = new MetricsCache(live, options, o.cache * 1000, (error) =>
          ctx.io.stderr.write(`noetl-console: metrics read failed: ${(error as Error).message?.split('\n')[0] ?? 'error'}\n`),
        );
        // Within the database deadline, and within Prometheus's default 10 s scrape timeout.
        const deadlineMs = Math.min(sessionLimits(ctx.options.statementTimeoutMs).deadlineMs, 9000);
        const server = await serveMetrics(cache, o.listen.host, o.listen.port, deadlineMs).catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(`--listen: cannot listen on ${o.listen!.host}:${o.listen!.port}: ${error.code ?? error.message}`);
        });
        ctx.io.stderr.write(`noetl-console: serving metrics on http://${o.listen.host}:${o.listen.port}/metrics\n`);
        await new Promise<void>((resolve) => {
          const stop = () => {
            server.close(() => resolve());
            server.closeIdleConnections();
            // A scrape still waiting or a client that reads slowly does not hold the stop.
            setTimeout(() => server.closeAllConnections(), 300).unref();
            // Whatever else is pending (a read on a dead link), the process is gone within a second.
            setTimeout(() => process.exit(process.exitCode ?? 0), 900).unref();
          };
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
      },
      undefined,
      { ownSignals: true },
    ),
  );
}

/** Executions each rule judges stuck, a sample per rule (zero included, so that alerts see the series). */
export function policySeries(policy: Policy, judged: readonly { verdict: { rule: number } }[], context: string | null): Series {
  return {
    name: 'policy_stuck_executions',
    help: 'Running executions each policy rule judges stuck (the first matching rule judges).',
    type: 'gauge',
    samples: policy.rules.map((r, i) => [
      { ...(context ? { context } : {}), rule: String(i + 1), name: r.name ?? `#${i + 1} ${r.match}`, action: r.action },
      judged.filter((j) => j.verdict.rule === i + 1).length,
    ]),
  };
}
