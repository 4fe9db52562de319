import type { Command } from 'commander';
import * as z from 'zod';
import { formatSeconds } from '../src/duration.js';
import { addConnectionOptions, addSnapshotOptions, runCommand } from './context.js';
import { validate } from './options.js';
import { addFlags, criticalLongRunning, fieldsOf, json, longRunning, olderThan, thresholds, warningLongRunning } from './flags.js';
import { historyDaysFlag, historyDaysOption, judgeRunning, judgingOf, policyFrom, policyOption } from './policy.js';

const FLAGS = [olderThan(), longRunning(), warningLongRunning, criticalLongRunning, json()] as const;

const HealthOptions = z.object({ ...fieldsOf(FLAGS), policy: z.boolean().default(false), historyDays: historyDaysFlag });

/** Exit codes for monitoring checks, apart from usage (2) and operational (1) failures. */
export const HEALTH_EXIT = { healthy: 0, warning: 4, critical: 5 } as const;

export function healthStatus(longRunning: number, warning: number, critical: number): keyof typeof HEALTH_EXIT {
  if (longRunning > critical) return 'critical';
  if (longRunning > warning) return 'warning';
  return 'healthy';
}

export function register(program: Command): void {
  addSnapshotOptions(
    addConnectionOptions(
      addFlags(program.command('health').description('counts: running, stuck, long-running, started in 24 h, oldest running, live workers'), FLAGS)
        .option(...policyOption)
        .option(...historyDaysOption)
        .addHelpText('after', '\nMonitoring exit codes: 0 healthy, 4 warning, 5 critical (1 unreachable, 2 bad usage).'),
    ),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => {
        const given = validate(HealthOptions, cmd.opts());
        const judging = judgingOf(src, given.historyDays);
        return { ...given, judging, rules: given.policy ? policyFrom(src, judging) : null };
      },
      async (ctx, given) => {
        const o = thresholds(cmd, given, ctx.resolved.health);
        const [h, judged] = await Promise.all([ctx.source.health(o.olderThan, o.longRunning), o.rules ? judgeRunning(ctx, o.rules, o.judging) : null]);
        const byRule =
          o.rules && judged
            ? o.rules.rules.map((r, i) => ({ rule: i + 1, name: r.name ?? `#${i + 1} ${r.match}`, action: r.action, stuck: judged.filter((j) => j.verdict.rule === i + 1).length }))
            : null;
        const status = healthStatus(h.long_running, o.warningLongRunning, o.criticalLongRunning);
        const metrics = {
          running_executions: h.running,
          stuck_executions: h.stuck,
          long_running_executions: h.long_running,
          recent_executions_24h: h.recent_24h,
          oldest_running_seconds: h.oldest_running_seconds,
          live_workers: h.live_workers,
          timestamp: h.now,
        };
        if (o.json) {
          ctx.printJson({
            status,
            metrics,
            thresholds: {
              stuck_minutes: o.olderThan / 60,
              long_running_minutes: o.longRunning / 60,
              warning_long_running: o.warningLongRunning,
              critical_long_running: o.criticalLongRunning,
            },
            ...(byRule ? { policy: { stuck_executions: judged!.length, rules: byRule } } : {}),
          });
          return HEALTH_EXIT[status];
        }
        const c = ctx.color;
        const lines: [string, string][] = [
          ['Status', status === 'healthy' ? c.green(status) : status === 'warning' ? c.yellow(status) : c.red(status)],
          ['Running', String(h.running)],
          [`Stuck (>${formatSeconds(o.olderThan)})`, String(h.stuck)],
          [`Long-running (>${formatSeconds(o.longRunning)})`, String(h.long_running)],
          ['Started in 24 h', String(h.recent_24h)],
          ['Oldest running', formatSeconds(h.oldest_running_seconds)],
          ['Live workers', h.live_workers === null ? '-' : String(h.live_workers)],
          ...(byRule ? byRule.map((r): [string, string] => [`Stuck by rule ${r.rule} (${r.action})`, `${r.stuck}  ${r.name}`]) : []),
        ];
        const width = Math.max(...lines.map(([label]) => label.length)) + 2;
        for (const [label, value] of lines) ctx.print(`${label === 'Status' ? c.bold(label.padEnd(width)) : label.padEnd(width)}${value}`);
        return HEALTH_EXIT[status];
      },
    ),
  );
}
