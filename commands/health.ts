import type { Command } from 'commander';
import { z } from 'zod';
import { formatSeconds } from '../src/duration.js';
import { addConnectionOptions, runCommand } from './context.js';
import { minutesFlag, validate } from './options.js';

const HealthOptions = z.object({
  olderThan: minutesFlag('--older-than'),
  longRunning: minutesFlag('--long-running'),
  json: z.boolean().default(false),
});

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('health')
      .description('counts: running, stuck, long-running, started in 24 h, oldest running, live workers')
      .option('--older-than <minutes>', 'what counts as stuck', '5')
      .option('--long-running <minutes>', 'what counts as long-running', '60')
      .option('--json', 'JSON for scripts'),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      () => validate(HealthOptions, cmd.opts()),
      async (ctx, o) => {
        const h = await ctx.store.health(o.olderThan, o.longRunning);
        const status = h.long_running > 5 ? 'warning' : 'healthy';
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
          ctx.printJson({ status, metrics, thresholds: { stuck_minutes: o.olderThan / 60, long_running_minutes: o.longRunning / 60 } });
          return;
        }
        const c = ctx.color;
        const lines: [string, string][] = [
          ['Status', status === 'healthy' ? c.green(status) : c.yellow(status)],
          ['Running', String(h.running)],
          [`Stuck (>${formatSeconds(o.olderThan)})`, String(h.stuck)],
          [`Long-running (>${formatSeconds(o.longRunning)})`, String(h.long_running)],
          ['Started in 24 h', String(h.recent_24h)],
          ['Oldest running', formatSeconds(h.oldest_running_seconds)],
          ['Live workers', h.live_workers === null ? '-' : String(h.live_workers)],
        ];
        const width = Math.max(...lines.map(([label]) => label.length)) + 2;
        for (const [label, value] of lines) ctx.print(`${label === 'Status' ? c.bold(label.padEnd(width)) : label.padEnd(width)}${value}`);
      },
    ),
  );
}
