/**
 * The console's session settings, and how they reach the server. Nothing is
 * set at connection start-up (a stock pgbouncer refuses the `options`
 * parameter, and with transaction pooling a session-level SET lands on
 * whichever server connection ran it, for the next client): every statement
 * runs in an explicit transaction that opens with BEGIN READ ONLY or READ
 * WRITE and SET LOCAL of each setting, sent as one round trip. So the server
 * enforces read-only and the timeouts on every transaction, whatever another
 * client of a pool left on the server connection.
 */
export const APPLICATION_NAME = 'noetl-console';

/** Client-side margin over the statement timeout before a silent connection is dropped. */
export const DEADLINE_MARGIN_MS = 2000;

export interface SessionLimits {
  statementTimeoutMs: number;
  lockTimeoutMs: number;
  /** The server ends a session left idle inside a transaction (a dead client) after this, releasing its locks. */
  idleInTransactionMs: number;
  /** No answer within this: the connection is destroyed, not awaited. */
  deadlineMs: number;
}

export function sessionLimits(statementTimeoutMs: number): SessionLimits {
  return {
    statementTimeoutMs,
    lockTimeoutMs: statementTimeoutMs,
    // The console never pauses inside a transaction for longer than a round trip.
    idleInTransactionMs: Math.max(2000, Math.min(statementTimeoutMs, 10_000)),
    deadlineMs: statementTimeoutMs + DEADLINE_MARGIN_MS,
  };
}

/**
 * The first round trip of every transaction. READ COMMITTED and the mode are
 * explicit so that a default another pool client SET cannot change them:
 * 'read-only' for every statement of a --read-only console, 'write' for a
 * write transaction, 'read' (the server's default mode: a hot standby takes
 * it) for the reads of a read-write console.
 */
export function beginSql(mode: 'read-only' | 'write' | 'read', limits: SessionLimits): string {
  const access = mode === 'read-only' ? ' READ ONLY' : mode === 'write' ? ' READ WRITE' : '';
  return [
    `BEGIN ISOLATION LEVEL READ COMMITTED${access}`,
    `SET LOCAL statement_timeout = ${Math.round(limits.statementTimeoutMs)}`,
    `SET LOCAL lock_timeout = ${Math.round(limits.lockTimeoutMs)}`,
    `SET LOCAL idle_in_transaction_session_timeout = ${Math.round(limits.idleInTransactionMs)}`,
    // JIT compiles the listing query for ~100 ms and saves nothing on a few thousand rows.
    'SET LOCAL jit = off',
    `SET LOCAL application_name = '${APPLICATION_NAME}'`,
  ].join('; ');
}

/** The settings the console owns: nothing from outside may try to set them. */
export const OWN_SETTINGS = [
  'statement_timeout',
  'lock_timeout',
  'idle_in_transaction_session_timeout',
  'default_transaction_read_only',
  'transaction_read_only',
  'default_transaction_isolation',
  'transaction_isolation',
] as const;

/**
 * Connection-URL parameters that node-postgres would send as start-up
 * settings against the console's own (or use to change its deadline): refused
 * with exit 2 before anything connects. `options` is checked setting by
 * setting (optionsConflict).
 */
export const REFUSED_URL_PARAMETERS = [...OWN_SETTINGS, 'query_timeout', 'replication'] as const;

/**
 * The first of the console's own settings that a start-up `options` string
 * (`-c name=value`, `-cname=value`, `--name=value`) sets, or null. Other
 * settings in it (TimeZone, search_path) pass through to the server.
 */
export function optionsConflict(options: string): string | null {
  const names = [...options.matchAll(/(?:^|\s)(?:-c\s*|--)([A-Za-z_][A-Za-z0-9_.-]*)\s*=/g)].map((m) => m[1]!.toLowerCase().replace(/-/g, '_'));
  return names.find((n) => (OWN_SETTINGS as readonly string[]).includes(n)) ?? null;
}
