/**
 * The concurrency scenario, shared by test/reliability/concurrency.test.ts
 * (one round) and bench/soak.ts (rounds for N minutes).
 *
 * One round: a fresh schema with `executions` running executions (roots and
 * children, both dialects); an engine session finishes some of them before
 * the consoles start; then `processes` console processes (the spawned bin)
 * run `cleanup`, `cancel` and `fail` over overlapping sets while the engine
 * keeps finishing executions, taking no lock, as a real engine does.
 *
 * What is measured afterwards, from the rows:
 * - duplicates: executions with more than one terminal event written by the
 *   console (must be 0);
 * - lost: executions that are still running after every console finished
 *   (must be 0: the cleanups select every stuck execution);
 * - pre-finished touched: console events on executions the engine finished
 *   before any console started (must be 0);
 * - provable stale writes: a console event on an execution whose engine
 *   event had committed before the console's INSERT statement began (its
 *   snapshot was taken under the lock, so it must have seen the engine's
 *   event; must be 0). The engine's commit time is bounded above by
 *   clock_timestamp() read right after its COMMIT; the console statement's
 *   start is statement_timestamp() recorded by an AFTER INSERT trigger;
 *   both from the server's clock;
 * - unlocked-engine races: both an engine and a console event where the
 *   order cannot be proven (the engine wrote at the same instant, or after
 *   us: it takes no lock and checks nothing). This is the documented
 *   limitation, counted, not failed;
 * - reporting: every process reports every execution it met exactly once,
 *   its counts add up, its claimed changes are exactly the console events
 *   that carry its reason, and each console event is claimed by exactly one
 *   process.
 */
import type pg from 'pg';
import { Scenario, type ExecutionBuilder } from '../fixtures/scenario.js';
import { createTestDatabase, POSTGRES_URL, type TestDatabase } from './db.js';
import { backendPid, connect, consolesBlockedBy, prng, shuffle, startCli, uniqueIdBase, type CliResult } from './reliability.js';
import { eventually } from './eventually.js';

export interface RoundOptions {
  /** Total executions (roots and children), default 500. */
  executions?: number;
  /** Console processes, default 8. */
  processes?: number;
  /** Finished by the engine before any console starts, default 10% of executions. */
  preFinished?: number;
  /** Finished by the engine while every console waits at the start gate, default 10%. */
  finishedWhileBlocked?: number;
  /** Finished by the engine while the consoles run, default 30% of executions. */
  racing?: number;
  seed?: number;
}

interface ProcessSpec {
  name: string;
  kind: 'cleanup' | 'cancel' | 'fail';
  args: string[];
  reason: string;
  /** For cancel/fail: the ids named (with duplicates and unknown ids as given). */
  named: string[];
  stdin?: string;
  mark: 'cancelled' | 'failed';
}

interface ResultRow {
  execution_id: string;
  outcome: string;
}

export interface ProcessReport {
  name: string;
  args: string[];
  exit: number | null;
  results: number;
  counts: Record<string, number>;
}

export interface RoundReport {
  seed: number;
  schema: string;
  executions: number;
  roots: number;
  children: number;
  processes: number;
  consoleEvents: number;
  engineEvents: { before: number; whileQueued: number; during: number; total: number };
  /** Consoles seen queued on the start gate at once (contention). */
  queuedAtGate: number;
  outcomes: Record<string, number>;
  perProcess: ProcessReport[];
  /** Executions with more than one console terminal event (must be 0). */
  duplicates: number;
  /** Executions still running at the end (must be 0). */
  lost: number;
  /** Console events on executions the engine finished before the consoles started or while they queued for their locks (must be 0). */
  preFinishedTouched: number;
  /** Console events provably written after the engine's event had committed (must be 0). */
  provableStaleWrites: number;
  /** Engine and console both wrote, order not provable: the documented unlocked-engine race. */
  unlockedEngineRaces: number;
  /** Of those, the engine's INSERT began after the console's row was inserted. */
  engineWroteAfterConsole: number;
  /** Reporting problems (missing, duplicated or unclaimed outcomes, bad exit codes); must be empty. */
  reportErrors: string[];
  durationMs: number;
}

const UNKNOWN_IDS = ['1', '2', '999999999999999999'];

function buildScenario(base: bigint, total: number, rnd: () => number) {
  const s = new Scenario(base);
  s.worker('worker-live', 5).worker('worker-dead', 3600);
  const childCount = Math.floor(total / 5);
  const rootCount = total - childCount;
  const roots: ExecutionBuilder[] = [];
  const children: ExecutionBuilder[] = [];
  for (let i = 0; i < rootCount; i++) {
    const dialect = i % 3 === 2 ? 'rust' : 'python';
    const e = s.execution({ path: `load/conc-${i % 7}`, dialect, startedMinutesAgo: 30 + Math.floor(rnd() * 300) });
    if (i % 4 === 0) e.claimed('transform', 20, 'worker-dead');
    else e.issued('extract', 25);
    roots.push(e);
  }
  for (let i = 0; i < childCount; i++) {
    // The first children hang off roots; later ones may hang off children (grandchildren).
    const parent = i < childCount / 2 || children.length === 0 ? roots[i % rootCount]! : children[Math.floor(rnd() * children.length)]!;
    const e = s.execution({ path: 'load/conc-child', startedMinutesAgo: 25, parent });
    e.issued('child-step', 20);
    children.push(e);
  }
  return { s, roots, children };
}

function specs(processes: number, rootIds: string[], childIds: string[], rnd: () => number): ProcessSpec[] {
  const all = [...rootIds, ...childIds];
  const n = all.length;
  const slice = (from: number, to: number) => all.slice(Math.floor(from * n), Math.floor(to * n));
  const templates: ((k: number) => Omit<ProcessSpec, 'reason' | 'args'> & { flags: string[] })[] = [
    () => ({ name: 'cleanup --cascade', kind: 'cleanup', named: [], mark: 'cancelled', flags: ['cleanup', '--older-than', '10', '--cascade'] }),
    () => ({
      name: 'cancel - --cascade (first 60%, dupes, unknown ids)',
      kind: 'cancel',
      named: [...slice(0, 0.6), ...slice(0, 0.05), ...UNKNOWN_IDS],
      mark: 'cancelled',
      flags: ['cancel', '-', '--cascade'],
    }),
    () => ({
      name: 'cleanup --mark failed --include-children',
      kind: 'cleanup',
      named: [],
      mark: 'failed',
      flags: ['cleanup', '--older-than', '10', '--mark', 'failed', '--include-children'],
    }),
    () => ({ name: 'cancel - (last 60%, reversed)', kind: 'cancel', named: slice(0.4, 1).reverse(), mark: 'cancelled', flags: ['cancel', '-'] }),
    () => ({ name: 'fail - (every other)', kind: 'fail', named: all.filter((_, i) => i % 2 === 0), mark: 'failed', flags: ['fail', '-'] }),
    () => ({
      name: 'cleanup --limit --cascade',
      kind: 'cleanup',
      named: [],
      mark: 'cancelled',
      flags: ['cleanup', '--older-than', '10', '--limit', String(Math.max(1, Math.floor(n / 2))), '--cascade'],
    }),
    () => ({ name: 'fail - --cascade (random half)', kind: 'fail', named: shuffle(all, rnd).slice(0, Math.floor(n / 2)), mark: 'failed', flags: ['fail', '-', '--cascade'] }),
    () => ({ name: 'cancel <ids as arguments>', kind: 'cancel', named: slice(0.2, 0.28), mark: 'cancelled', flags: ['cancel'] }),
  ];
  const out: ProcessSpec[] = [];
  for (let k = 0; k < processes; k++) {
    const t = templates[k % templates.length]!(k);
    const reason = `conc-p${k}`;
    const byArgs = t.kind !== 'cleanup' && !t.flags.includes('-');
    const args = [...t.flags, ...(byArgs ? t.named : []), '--json', '--reason', reason];
    out.push({
      name: `p${k} ${t.name}`,
      kind: t.kind,
      named: t.named,
      mark: t.mark,
      reason,
      args,
      ...(t.kind !== 'cleanup' && !byArgs ? { stdin: `${t.named.join('\n')}\n` } : {}),
    });
  }
  return out;
}

async function installWriteLog(client: pg.Client, schema: string): Promise<void> {
  const s = `"${schema}"`;
  await client.query(`
    CREATE TABLE ${s}.console_write_log (execution_id bigint, event_id bigint, stmt_us bigint, clock_us bigint, txid bigint);
    CREATE FUNCTION ${s}.log_console_write() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO ${s}.console_write_log VALUES (NEW.execution_id, NEW.event_id,
        (extract(epoch FROM statement_timestamp()) * 1e6)::bigint,
        (extract(epoch FROM clock_timestamp()) * 1e6)::bigint, txid_current());
      RETURN NULL;
    END $$;
    CREATE TRIGGER console_write_log AFTER INSERT ON ${s}.event
      FOR EACH ROW WHEN (NEW.meta->>'emitted_by' = 'noetl-console') EXECUTE FUNCTION ${s}.log_console_write();`);
}

/** The simulated engine: one INSERT of a terminal event, autocommit, no lock, no check. */
async function engineFinish(client: pg.Client, schema: string, id: string, rust: boolean): Promise<bigint> {
  const s = `"${schema}"`;
  await client.query(
    `INSERT INTO ${s}.event (execution_id, event_id, catalog_id, parent_execution_id, created_at,
        event_type, node_id, node_name, node_type, status, meta)
     SELECT e.execution_id, ${s}.snowflake_id(), e.catalog_id, e.parent_execution_id, now() AT TIME ZONE 'UTC',
        $2, 'playbook', 'playbook', 'playbook', 'COMPLETED',
        jsonb_build_object('emitted_by', 'engine-sim', 'engine_clock_us', (extract(epoch FROM clock_timestamp()) * 1e6)::bigint)
     FROM ${s}.event e WHERE e.execution_id = $1::bigint ORDER BY e.event_id LIMIT 1`,
    [id, rust ? 'playbook_completed' : 'playbook.completed'],
  );
  // Read after COMMIT returned: an upper bound of the commit time, server clock.
  const { rows } = await client.query<{ us: string }>(`SELECT (extract(epoch FROM clock_timestamp()) * 1e6)::bigint::text AS us`);
  return BigInt(rows[0]!.us);
}

export async function runConcurrencyRound(opts: RoundOptions = {}): Promise<RoundReport> {
  const total = opts.executions ?? 500;
  const processes = opts.processes ?? 8;
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const rnd = prng(seed);
  const started = Date.now();
  const t: TestDatabase = await createTestDatabase('postgres');
  const engine = await connect(POSTGRES_URL, 'noetl-engine-sim');
  const reader = await connect(POSTGRES_URL, 'noetl-console-reliability');
  try {
    await installWriteLog(reader, t.schema);
    const { s, roots, children } = buildScenario(uniqueIdBase(), total, rnd);
    await s.apply(t.db, t.schema);
    const rootIds = roots.map((r) => r.id);
    const childIds = children.map((c) => c.id);
    const allIds = [...rootIds, ...childIds];
    const rust = new Set([...roots, ...children].filter((e) => e.dialect === 'rust').map((e) => e.id));

    const order = shuffle(allIds, rnd);
    const preCount = opts.preFinished ?? Math.floor(total * 0.1);
    const gateCount = opts.finishedWhileBlocked ?? Math.floor(total * 0.1);
    const raceCount = opts.racing ?? Math.floor(total * 0.3);
    const pre = order.slice(0, preCount);
    const gated = order.slice(preCount, preCount + gateCount);
    const racing = order.slice(preCount + gateCount, preCount + gateCount + raceCount);

    const engineCommitUs = new Map<string, bigint>();
    for (const id of pre) engineCommitUs.set(id, await engineFinish(engine, t.schema, id, rust.has(id)));

    // A start gate: a session holding advisory locks on every execution, so
    // that all consoles select their work, then queue on the same locks and
    // are released together.
    const gate = await connect(POSTGRES_URL, 'noetl-console-gate');
    const gatePid = await backendPid(gate);
    await gate.query('SELECT count(pg_advisory_lock(id)) FROM unnest($1::bigint[]) AS id', [allIds]);

    const plan = specs(processes, rootIds, childIds, rnd);
    const env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
    const running = plan.map((p) => startCli(p.args, { env, ...(p.stdin !== undefined ? { input: p.stdin } : {}), timeoutMs: 300_000 }));
    let exited = 0;
    const all = Promise.all(running.map((r) => r.done.then((x) => ((exited += 1), x))));

    let blocked = 0;
    try {
      blocked = (
        await eventually(
          'every console queued on the gate',
          async () => {
            const b = await consolesBlockedBy(reader, gatePid);
            return b.length + exited >= processes ? b : null;
          },
          { timeoutMs: 120_000 },
        )
      ).length;
      // Finished by the engine while every console waits for its lock: a
      // console event on one of these would be a write on an execution the
      // engine had finished before our lock.
      for (const id of gated) engineCommitUs.set(id, await engineFinish(engine, t.schema, id, rust.has(id)));
    } finally {
      await gate.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
      await gate.end().catch(() => undefined);
    }

    // The engine keeps finishing executions, as fast as it can, while the
    // consoles run; what is left when they are done is finished after them.
    // Three engine sessions (an engine has several workers), none taking a lock.
    let during = 0;
    const lanes = [engine, ...(await Promise.all([1, 2].map(() => connect(POSTGRES_URL, 'noetl-engine-sim'))))];
    try {
      await Promise.all(
        lanes.map(async (lane, k) => {
          for (const id of racing.filter((_, i) => i % lanes.length === k)) {
            const racingNow = exited < processes;
            engineCommitUs.set(id, await engineFinish(lane, t.schema, id, rust.has(id)));
            if (racingNow) during++;
          }
        }),
      );
    } finally {
      for (const lane of lanes.slice(1)) await lane.end().catch(() => undefined);
    }
    const results: CliResult[] = await all;

    // ---- analysis -------------------------------------------------------
    const reportErrors: string[] = [];
    const { rows: consoleRows } = await reader.query<{ execution_id: string; event_type: string; reason: string; stmt_us: string | null; clock_us: string | null }>(
      `SELECT e.execution_id::text, e.event_type, e.meta->>'reason' AS reason, l.stmt_us::text, l.clock_us::text
       FROM "${t.schema}".event e
       LEFT JOIN "${t.schema}".console_write_log l ON l.execution_id = e.execution_id AND l.event_id = e.event_id
       WHERE e.meta->>'emitted_by' = 'noetl-console'
         AND NOT EXISTS (SELECT 1 FROM "${t.schema}".event n WHERE n.execution_id = e.execution_id
                           AND n.parent_event_id = e.event_id AND n.meta->>'emitted_by' = 'noetl-console')`,
    );
    const { rows: engineRows } = await reader.query<{ execution_id: string; engine_clock_us: string }>(
      `SELECT execution_id::text, meta->>'engine_clock_us' AS engine_clock_us
       FROM "${t.schema}".event WHERE meta->>'emitted_by' = 'engine-sim'`,
    );
    const { rows: stillRunning } = await reader.query<{ execution_id: string }>(
      `SELECT DISTINCT e.execution_id::text FROM "${t.schema}".event e
       WHERE NOT EXISTS (SELECT 1 FROM "${t.schema}".event x WHERE x.execution_id = e.execution_id
         AND x.event_type IN ('playbook.completed','playbook_completed','workflow.completed','playbook.failed','playbook_failed',
                              'workflow.failed','execution.cancelled','playbook.cancelled','playbook_cancelled'))`,
    );

    const consoleBy = new Map<string, typeof consoleRows>();
    for (const r of consoleRows) consoleBy.set(r.execution_id, [...(consoleBy.get(r.execution_id) ?? []), r]);
    const engineClock = new Map(engineRows.map((r) => [r.execution_id, BigInt(r.engine_clock_us)]));
    let duplicates = 0;
    for (const rows of consoleBy.values()) if (rows.length > 1) duplicates++;
    const preSet = new Set([...pre, ...gated]);
    let preFinishedTouched = 0;
    let provableStaleWrites = 0;
    let unlockedEngineRaces = 0;
    let engineWroteAfterConsole = 0;
    for (const [id, rows] of consoleBy) {
      if (preSet.has(id)) preFinishedTouched++;
      const commitUs = engineCommitUs.get(id);
      if (commitUs === undefined) continue;
      for (const r of rows) {
        if (r.stmt_us === null) {
          reportErrors.push(`console event on ${id} has no write-log row`);
          continue;
        }
        if (commitUs < BigInt(r.stmt_us)) provableStaleWrites++;
        else {
          unlockedEngineRaces++;
          if (engineClock.get(id)! > BigInt(r.clock_us!)) engineWroteAfterConsole++;
        }
      }
    }

    // Per process: every execution met reported once, counts add up, claims match the rows.
    const claims = new Map<string, string[]>(); // execution -> processes claiming a change
    const outcomes: Record<string, number> = {};
    const perProcess: ProcessReport[] = [];
    const knownIds = new Set(allIds);
    plan.forEach((p, k) => {
      const r = results[k]!;
      const where = `${p.name}`;
      const okExit = p.kind === 'cleanup' ? [0] : [0, 3];
      if (!okExit.includes(r.code ?? -1)) reportErrors.push(`${where}: exit ${r.code} ${r.signal ?? ''} ${r.stderr.trim().slice(0, 300)}`);
      if (r.stderr !== '') reportErrors.push(`${where}: unexpected stderr ${JSON.stringify(r.stderr.slice(0, 300))}`);
      let json: { results?: ResultRow[]; counts?: Record<string, number>; execution_ids?: string[]; cancelled_count?: number; changed_count?: number };
      try {
        json = JSON.parse(r.stdout);
      } catch {
        reportErrors.push(`${where}: stdout is not JSON: ${JSON.stringify(r.stdout.slice(0, 200))}`);
        perProcess.push({ name: p.name, args: p.args, exit: r.code, results: 0, counts: {} });
        return;
      }
      const rows = json.results ?? [];
      const seen = new Set<string>();
      const tally: Record<string, number> = {};
      const change = p.mark;
      const allowed = new Set([change, 'already_terminal', ...(p.kind === 'cleanup' ? [] : ['not_found'])]);
      for (const row of rows) {
        if (seen.has(row.execution_id)) reportErrors.push(`${where}: ${row.execution_id} reported twice`);
        seen.add(row.execution_id);
        tally[row.outcome] = (tally[row.outcome] ?? 0) + 1;
        outcomes[row.outcome] = (outcomes[row.outcome] ?? 0) + 1;
        if (!allowed.has(row.outcome)) reportErrors.push(`${where}: ${row.execution_id} has outcome ${row.outcome}`);
        if (row.outcome === 'not_found' && knownIds.has(row.execution_id)) reportErrors.push(`${where}: existing ${row.execution_id} reported not_found`);
        if (row.outcome !== 'not_found' && !knownIds.has(row.execution_id)) reportErrors.push(`${where}: unknown ${row.execution_id} reported ${row.outcome}`);
        if (row.outcome === change) claims.set(row.execution_id, [...(claims.get(row.execution_id) ?? []), p.reason]);
      }
      for (const id of new Set(p.named)) if (!seen.has(id)) reportErrors.push(`${where}: named ${id} missing from results`);
      if (JSON.stringify(Object.entries(tally).sort()) !== JSON.stringify(Object.entries(json.counts ?? {}).sort())) {
        reportErrors.push(`${where}: counts ${JSON.stringify(json.counts)} do not match results ${JSON.stringify(tally)}`);
      }
      const changed = rows
        .filter((x) => x.outcome === change)
        .map((x) => x.execution_id)
        .sort();
      if (JSON.stringify([...(json.execution_ids ?? [])].sort()) !== JSON.stringify(changed)) reportErrors.push(`${where}: execution_ids differ from the changed results`);
      const count = p.kind === 'cleanup' ? json.cancelled_count : json.changed_count;
      if (count !== changed.length) reportErrors.push(`${where}: count ${count} but ${changed.length} changed`);
      perProcess.push({
        name: p.name,
        args: p.args.filter((a) => !/^\d{6,}$/.test(a)).concat(p.named.length && !p.stdin ? [`<${p.named.length} ids>`] : []),
        exit: r.code,
        results: rows.length,
        counts: tally,
      });
    });
    // Each console event is claimed by exactly the process whose reason it carries, and nothing else claims.
    for (const [id, rows] of consoleBy) {
      const c = claims.get(id) ?? [];
      const reasons = rows.map((r) => r.reason).sort();
      if (JSON.stringify(c.sort()) !== JSON.stringify(reasons)) reportErrors.push(`${id}: written by ${JSON.stringify(reasons)} but claimed by ${JSON.stringify(c)}`);
    }
    for (const [id, c] of claims) if (!consoleBy.has(id)) reportErrors.push(`${id}: claimed by ${JSON.stringify(c)} but no console event`);

    return {
      seed,
      schema: t.schema,
      executions: allIds.length,
      roots: rootIds.length,
      children: childIds.length,
      processes,
      consoleEvents: consoleRows.length,
      engineEvents: { before: pre.length, whileQueued: gated.length, during, total: engineRows.length },
      queuedAtGate: blocked,
      outcomes,
      perProcess,
      duplicates,
      lost: stillRunning.length,
      preFinishedTouched,
      provableStaleWrites,
      unlockedEngineRaces,
      engineWroteAfterConsole,
      reportErrors,
      durationMs: Date.now() - started,
    };
  } finally {
    await engine.end().catch(() => undefined);
    await reader.end().catch(() => undefined);
    await t.close();
  }
}

/** A short human summary of a round, for the test output and the soak. */
export function formatRound(r: RoundReport): string {
  const lines = [
    `concurrency round (seed ${r.seed}): ${r.executions} executions (${r.roots} roots, ${r.children} children), ${r.processes} console processes`,
    `  start gate: ${r.queuedAtGate} consoles queued on the same locks at once`,
    `  engine terminal events: ${r.engineEvents.before} before the consoles, ${r.engineEvents.whileQueued} while they queued for their locks, ${r.engineEvents.during} while they ran, ${r.engineEvents.total} in all`,
    `  console terminal events: ${r.consoleEvents}; outcomes reported: ${JSON.stringify(r.outcomes)}`,
    `  duplicates ${r.duplicates}, lost ${r.lost}, finished-before-lock touched ${r.preFinishedTouched}, provable stale writes ${r.provableStaleWrites}, reporting errors ${r.reportErrors.length}`,
    `  both engine and console terminal events (the engine takes no lock; documented, not failures): ${r.unlockedEngineRaces}` +
      ` (engine wrote after the console's row: ${r.engineWroteAfterConsole}, same instant: ${r.unlockedEngineRaces - r.engineWroteAfterConsole})`,
    ...r.perProcess.map((p) => `  ${p.name}: exit ${p.exit}, ${p.results} results ${JSON.stringify(p.counts)}`),
    `  ${r.durationMs} ms`,
  ];
  return lines.join('\n');
}
