import type { Command } from 'commander';
import * as z from 'zod';
import { UsageError } from '../src/errors.js';
import { writeGate } from '../src/db/write-gate.js';
import { renderSeries, serveText, type Series } from '../src/metrics.js';
import { isChange, isWould } from '../src/core/mark.js';
import { addConnectionOptions, runCommand, type CommandContext } from './context.js';
import { maxAffectedFlag, maxAffectedOption, refuseWriteWhenReadOnly } from './mark.js';
import { listenFlag, policySeries } from './metrics.js';
import { minutesFlag, reasonFlag, validate } from './options.js';
import { PolicyPassError, historyDaysFlag, historyDaysOption, judgeRunning, judgingOf, policyFrom, policyPass, type Judged, type Judging, type PassResult } from './policy.js';
import type { Policy } from '../src/policy.js';

const SweepOptions = z.object({
  policy: z.boolean().default(false),
  interval: minutesFlag('--interval', 10),
  reason: reasonFlag.optional(),
  cascade: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  maxAffected: maxAffectedFlag,
  listen: listenFlag.optional(),
  historyDays: historyDaysFlag,
});

export function register(program: Command): void {
  addConnectionOptions(
    program
      .command('sweep')
      .description("run the config file's policies every --interval, with cleanup's guards; JSON lines, one a pass")
      .option('--policy', "required: judge by the config file's policies (README, Policies)")
      .option('--interval <minutes>', 'time between the start of one pass and the next (minutes, or 30s/5m/1h; at least 10s)', '5')
      .option('--reason <text>', 'why (stored in each event)', 'stuck execution sweep by noetl-console')
      .option('--cascade', 'also change every running descendant')
      .option('--dry-run', 'judge and log, write nothing')
      .option(...maxAffectedOption)
      .option('--listen <host:port>', "serve the sweep's own metrics at /metrics, e.g. 127.0.0.1:9465")
      .option(...historyDaysOption),
  ).action(async (_opts, cmd: Command) =>
    runCommand(
      cmd,
      (src) => {
        const o = validate(SweepOptions, cmd.opts());
        if (!o.policy) throw new UsageError("sweep: --policy is required (a sweep judges by the config file's policies)");
        const judging = judgingOf(src, o.historyDays);
        return { ...o, judging, rules: policyFrom(src, judging), maxAffected: o.maxAffected ?? src.maxAffected };
      },
      (ctx, o) => sweep(ctx, o.rules, { ...o, reason: o.reason! }),
      (options, o) => refuseWriteWhenReadOnly(options, o.dryRun, 'sweep'),
      { ownSignals: true },
    ),
  );
}

interface SweepState {
  passes: number;
  failures: number;
  closed: Record<'cancel' | 'fail', number>;
  lastAt: number | null;
  lastSeconds: number;
  lastOk: boolean;
  policy: Policy;
  /** What the last pass judged stuck. */
  last: readonly Judged[] | null;
}

function sweepSeries(s: SweepState): Series[] {
  return [
    { name: 'sweep_passes_total', help: 'Passes of the policy run by this sweep.', type: 'counter', samples: [[{}, s.passes]] },
    { name: 'sweep_pass_failures_total', help: 'Passes that failed (database error, refused by --max-affected).', type: 'counter', samples: [[{}, s.failures]] },
    {
      name: 'sweep_closed_executions_total',
      help: 'Executions this sweep closed, cascade included.',
      type: 'counter',
      samples: (['cancel', 'fail'] as const).map((a) => [{ action: a }, s.closed[a]]),
    },
    { name: 'sweep_last_pass_success', help: 'Whether the last pass succeeded.', type: 'gauge', samples: [[{}, s.lastOk ? 1 : 0]] },
    {
      name: 'sweep_last_pass_timestamp_seconds',
      help: 'When the last pass ended, Unix time.',
      type: 'gauge',
      samples: s.lastAt === null ? [] : [[{}, Math.round(s.lastAt / 1000)]],
    },
    { name: 'sweep_last_pass_duration_seconds', help: 'How long the last pass took.', type: 'gauge', samples: [[{}, Number(s.lastSeconds.toFixed(6))]] },
    ...(s.last ? [policySeries(s.policy, s.last, null)] : []),
  ];
}

/** The JSON line of a pass. */
function passLine(n: number, started: number, pass: PassResult | null, o: { dryRun: boolean }, error: unknown, policy: Policy) {
  const results = pass?.results.map((r) => r.result) ?? [];
  const byRule = policy.rules.map((rule, i) => {
    const mine = pass?.judged.filter((j) => j.verdict.rule === i + 1) ?? [];
    return {
      rule: i + 1,
      name: mine[0]?.verdict.name ?? rule.name ?? `#${i + 1} ${rule.match}`,
      action: rule.action,
      count: mine.length,
      execution_ids: mine.map((j) => j.execution.execution_id),
    };
  });
  return {
    event: 'pass',
    pass: n,
    at: new Date(started).toISOString(),
    duration_ms: Date.now() - started,
    dry_run: o.dryRun,
    ok: error === null,
    ...(error !== null ? { error: (error as Error).message?.split('\n')[0] ?? String(error) } : {}),
    ...(pass?.partial ? { partial: true } : {}),
    judged: pass?.judged.length ?? 0,
    rules: byRule,
    changed: results.filter((r) => isChange(r.outcome)).map((r) => r.execution_id),
    would: results.filter((r) => isWould(r.outcome)).map((r) => r.execution_id),
    batch_ids: pass?.batchIds ?? [],
  };
}

/**
 * Passes until SIGTERM or SIGINT. A signal during a pass lets the batch in
 * progress commit or roll back and starts no other (the write gate); the
 * sweep then logs its stop and exits 0.
 */
async function sweep(
  ctx: CommandContext,
  policy: Policy,
  o: { interval: number; dryRun: boolean; reason: string; cascade: boolean; maxAffected?: number; listen?: { host: string; port: number }; judging: Judging },
): Promise<number> {
  const state: SweepState = { passes: 0, failures: 0, closed: { cancel: 0, fail: 0 }, lastAt: null, lastSeconds: 0, lastOk: true, policy, last: null };
  const log = (value: unknown) => ctx.io.stdout.write(`${JSON.stringify(value)}\n`);
  let stopping: NodeJS.Signals | null = null;
  let wake: () => void = () => {};
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = signal;
    writeGate.signal = signal;
    wake();
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  const server = o.listen
    ? await serveText(() => renderSeries(sweepSeries(state)), o.listen.host, o.listen.port).catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(`--listen: cannot listen on ${o.listen!.host}:${o.listen!.port}: ${error.code ?? error.message}`);
      })
    : null;
  log({
    event: 'start',
    at: new Date().toISOString(),
    interval_seconds: o.interval,
    dry_run: o.dryRun,
    rules: policy.rules.length,
    history_days: o.judging.days,
    ...(o.listen ? { listen: `${o.listen.host}:${o.listen.port}` } : {}),
  });
  try {
    while (!stopping) {
      const started = Date.now();
      let pass: PassResult | null = null;
      let error: unknown = null;
      try {
        const judged = await judgeRunning(ctx, policy, o.judging);
        // Stopped while reading: nothing to finish, nothing written.
        pass = judged.length && !stopping ? await policyPass(ctx, judged, { ...o, command: 'sweep' }) : { judged, results: [], partial: false, batchIds: [] };
      } catch (e) {
        error = e;
        if (e instanceof PolicyPassError) pass = e.pass;
      }
      const line = passLine(++state.passes, started, pass, o, error, policy);
      log(line);
      for (const r of pass?.results ?? []) if (isChange(r.result.outcome) && r.verdict && r.verdict.action !== 'report') state.closed[r.verdict.action]++;
      if (error !== null) state.failures++;
      state.lastOk = error === null;
      state.lastAt = Date.now();
      state.lastSeconds = (state.lastAt - started) / 1000;
      state.last = pass?.judged ?? null;
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, started + o.interval * 1000 - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    if (server)
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
  }
  log({ event: 'stop', at: new Date().toISOString(), signal: stopping, passes: state.passes });
  // The stop is clean: the batch in progress committed or rolled back (its pass line says which ids changed).
  writeGate.signal = null;
  return 0;
}
