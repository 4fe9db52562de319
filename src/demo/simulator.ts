/**
 * Keeps a demo database alive: executions start, progress step by step,
 * finish, and now and then get stuck (never claimed, or claimed by a worker
 * that died), so the console's live refresh has something to show. Workers
 * refuse to go on with an execution once it has a terminal event, as NoETL's
 * do, so a cancel from the console sticks. Never throws.
 */
import type { Database } from '../db/database.js';
import { NoetlStore } from '../noetl/store.js';
import type { ExecutionBuilder, Scenario } from './scenario.js';
import { rng } from './seed.js';

type Fate = 'finish' | 'never-claimed' | 'dead-worker' | 'fail';

interface Live {
  builder: ExecutionBuilder;
  steps: string[];
  done: number;
  fate: Fate;
  /** The step at which a bad fate strikes. */
  strikeAt: number;
  nextAt: number;
  /** Seconds between steps. */
  pace: number;
}

const PLANS: { path: string; steps: string[] }[] = [
  { path: 'etl/orders/incremental', steps: ['extract', 'transform', 'load_orders'] },
  { path: 'etl/customers/daily-load', steps: ['extract', 'dedupe', 'merge', 'publish'] },
  { path: 'ingest/s3/clickstream', steps: ['list_objects', 'load_partition'] },
  { path: 'billing/usage/aggregate', steps: ['collect', 'aggregate', 'post'] },
  { path: 'reports/ops/sla-dashboard', steps: ['query', 'render', 'upload'] },
  { path: 'ml/features/rebuild', steps: ['plan', 'compute', 'index'] },
];

export class Simulator {
  private readonly store: NoetlStore;
  private readonly live = new Map<string, Live>();
  private readonly random = rng(42);
  private timer: NodeJS.Timeout | undefined;
  private stuckMade = 0;
  private busy = false;

  /** `scenario`: the one that seeded the database, so catalog rows and ids line up. */
  constructor(
    private readonly db: Database,
    private readonly schema: string,
    private readonly scenario: Scenario,
    private readonly target = 10,
  ) {
    this.store = new NoetlStore(db, schema);
  }

  start(everyMs = 1500): void {
    this.timer = setInterval(() => void this.tick(), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One step of the world; returns after its writes. */
  async tick(now = Date.now()): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.dropFinished();
      this.scenario.worker('worker-a', 0).worker('worker-b', 0);
      for (const [id, x] of this.live) if (now >= x.nextAt) this.advance(id, x, now);
      while (this.live.size < this.target) this.begin(now);
      await this.scenario.apply(this.db, this.schema);
    } catch {
      // A demo world that hiccups (the console holds the one PGlite session) just tries again.
    } finally {
      this.busy = false;
    }
  }

  /** Executions cancelled or failed from the console stop here, as real workers would. */
  private async dropFinished(): Promise<void> {
    if (this.live.size === 0) return;
    for (const e of await this.store.describe([...this.live.keys()])) if (e.state !== 'running') this.live.delete(e.execution_id);
  }

  private begin(now: number): void {
    const plan = PLANS[Math.floor(this.random() * PLANS.length)]!;
    const roll = this.random();
    const canStick = this.stuckMade < 30;
    const fate: Fate = !canStick || roll < 0.75 ? 'finish' : roll < 0.85 ? 'never-claimed' : roll < 0.95 ? 'dead-worker' : 'fail';
    const builder = this.scenario.execution({ path: plan.path, dialect: this.random() < 0.5 ? 'python' : 'rust', startedMinutesAgo: 0 });
    const pace = 8 + Math.floor(this.random() * 20);
    this.live.set(builder.id, { builder, steps: plan.steps, done: 0, fate, strikeAt: Math.floor(this.random() * plan.steps.length), nextAt: now + pace * 1000, pace });
  }

  private advance(id: string, x: Live, now: number): void {
    const step = x.steps[x.done];
    const worker = this.random() < 0.5 ? 'worker-a' : 'worker-b';
    if (step === undefined) {
      x.builder.finish('completed', 0);
      this.live.delete(id);
      return;
    }
    if (x.fate !== 'finish' && x.done === x.strikeAt) {
      if (x.fate === 'never-claimed') x.builder.issued(step, 0);
      else if (x.fate === 'dead-worker') x.builder.claimed(step, 0, 'worker-c');
      else x.builder.finish('failed', 0);
      this.stuckMade += x.fate === 'fail' ? 0 : 1;
      this.live.delete(id);
      return;
    }
    x.builder.step(step, 0, worker);
    x.done++;
    x.nextAt = now + x.pace * 1000;
  }
}
