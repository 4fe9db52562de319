/**
 * What can go wrong with a session itself, as typed errors: each carries the
 * one line an operator sees, so commands and the console only pass it on.
 */
import { OperationalError } from '../errors.js';

/** The server did not answer within the client-side deadline; the connection was destroyed. */
export class NoAnswerError extends OperationalError {
  readonly code = 'NOANSWER';
  constructor(target: string, deadlineMs: number) {
    super(`no answer from ${target} within ${deadlineMs / 1000} s (statement timeout plus a margin): the connection was dropped`);
  }
}

/**
 * The COMMIT was sent but its answer never came, and a fresh connection could
 * not find out what became of the transaction: the write may or may not be in.
 */
export class CommitUnknownError extends OperationalError {
  readonly code = 'COMMIT_UNKNOWN';
  constructor(target: string, why: string) {
    super(
      `unknown: the COMMIT on ${target} was not answered and its outcome could not be re-read (${why}); ` +
        're-read before acting (show, list): running the same command again changes only what is still running',
    );
  }
}

/** The COMMIT's answer never came and a fresh connection found the transaction rolled back. */
export class RolledBackError extends OperationalError {
  readonly code = 'ROLLED_BACK';
  constructor(target: string) {
    super(`the connection to ${target} was lost before the COMMIT was answered; re-read on a new connection: rolled back, nothing was written`);
  }
}

/** A write on a hot standby. */
export class ReplicaError extends OperationalError {
  readonly code = 'REPLICA';
  constructor(target: string) {
    super(`this server is a read-only replica (${target}): writes go to the primary`);
  }
}

/** A write asked for after SIGTERM/SIGHUP: refused, nothing started. */
export class StoppedBySignalError extends OperationalError {
  readonly code = 'STOPPED_BY_SIGNAL';
  constructor(readonly signal: string) {
    super(`stopped by ${signal} before the next write: it was not started`);
  }
}
