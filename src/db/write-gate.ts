/**
 * Writes and termination signals. A signal that arrives while a write
 * transaction is open does not interrupt it: the transaction ends (COMMIT, or
 * ROLLBACK on its own error) and no further write starts. The process then
 * says what became of the write and exits (commands/context.ts, components/run.tsx).
 */
import { StoppedBySignalError } from './errors.js';

export type WriteOutcome = 'committed' | 'rolled back' | 'unknown';

class WriteGate {
  /** The termination signal received, if any. */
  signal: NodeJS.Signals | null = null;
  private open = 0;
  /** Writes begun in this process. */
  started = 0;
  private waiters: (() => void)[] = [];
  /** Outcomes of the writes that ended after the signal arrived. */
  readonly afterSignal: WriteOutcome[] = [];

  get inFlight(): number {
    return this.open;
  }

  /** Before BEGIN of a write: refused once a signal arrived. */
  enter(): void {
    if (this.signal) throw new StoppedBySignalError(this.signal);
    this.open++;
    this.started++;
  }

  leave(outcome: WriteOutcome): void {
    this.open--;
    if (this.signal) this.afterSignal.push(outcome);
    if (this.open === 0) for (const wake of this.waiters.splice(0)) wake();
  }

  /** Resolves when no write is open. */
  idle(): Promise<void> {
    return this.open === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

export const writeGate = new WriteGate();
