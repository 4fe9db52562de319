import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { UsageError, registerSecret, quoted } from './errors.js';
import { safeText } from './sanitize.js';
import { parseDuration } from './duration.js';
import { REFUSED_URL_PARAMETERS, optionsConflict } from './db/session.js';

export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export type ConnectionTarget =
  | {
      kind: 'postgres';
      connectionString?: string;
      label: string;
      /**
       * The libpq variables pg would read from process.env (PGHOST, PGUSER,
       * PGSSLMODE...), taken from the environment the command was given, so
       * that a command run in process connects exactly as the bin would.
       */
      env?: Record<string, string>;
    }
  | { kind: 'pglite'; dataDir: string; label: string };

export interface ConnectionOptions {
  target: ConnectionTarget;
  schema: string;
  readOnly: boolean;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** A line for the operator from the db layer (a lost COMMIT answer settled): stderr in commands. */
  onNotice?: (line: string) => void;
}

/** Raw flags shared by every command, as commander hands them over. */
export interface RawConnectionFlags {
  databaseUrl?: string;
  /** Where databaseUrl came from, for messages (default --database-url). */
  databaseUrlFrom?: string;
  schema?: string;
  readOnly?: boolean;
  statementTimeout?: string;
}

const envSchema = z.object({
  NOETL_DATABASE_URL: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  NOETL_SCHEMA: z.string().optional(),
  NOETL_CONSOLE_READ_ONLY: z.string().optional(),
  PGHOST: z.string().optional(),
  PGPORT: z.string().optional(),
  PGDATABASE: z.string().optional(),
  PGUSER: z.string().optional(),
  PGPASSWORD: z.string().optional(),
  PGOPTIONS: z.string().optional(),
});

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Percent-decode a URL part; a malformed escape is a usage error, not a crash. */
function decodePart(part: string, source: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new UsageError(`${source}: malformed percent-escape in the ${what} of the database URL`);
  }
}

/** A TCP port: 1 to 65535. */
function validPort(text: string): boolean {
  return /^\d{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535;
}

/** host:port/db of a URL or of the PG* variables, never with a password. */
function labelOf(url: URL, source: string): string {
  const host = url.hostname || 'localhost';
  const port = url.port ? `:${url.port}` : '';
  const db = decodePart(url.pathname.replace(/^\//, ''), source, 'database name') || decodePart(url.username, source, 'user name') || 'postgres';
  // Shown in headers and every error: never a control character.
  return safeText(`${host}${port}/${db}`, 200);
}

export function parseDatabaseUrl(raw: string, source: string): ConnectionTarget {
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new UsageError(`${source}: the database URL contains control characters`);
  if (raw.startsWith('pglite:')) {
    const dataDir = raw.replace(/^pglite:(\/\/)?/, '');
    if (!dataDir) throw new UsageError(`${source}: pglite URL needs a directory, e.g. pglite:///var/tmp/noetl-demo`);
    // Opening a directory that holds no database would create one there (and take
    // seconds) only to find no NoETL schema in it: a mistyped path is bad input.
    if (dataDir !== 'memory' && dataDir !== 'memory://' && !existsSync(join(dataDir, 'PG_VERSION'))) {
      throw new UsageError(`${source}: no PGlite database in ${quoted(dataDir, 200)} (expected a data directory with PG_VERSION)`);
    }
    return { kind: 'pglite', dataDir, label: safeText(`pglite:${dataDir}`, 200) };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source}: not a valid URL (expected postgres://user@host:5432/db)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(`${source}: unsupported scheme ${quoted(url.protocol, 40)} (expected postgres:// or postgresql://)`);
  }
  if (!/^postgres(ql)?:\/\//i.test(raw)) throw new UsageError(`${source}: not a valid URL (expected postgres://user@host:5432/db)`);
  decodePart(url.username, source, 'user name');
  if (url.password) {
    // Both spellings, so that no message can show either.
    registerSecret(url.password);
    registerSecret(decodePart(url.password, source, 'password'));
  }
  if (url.port && !validPort(url.port)) throw new UsageError(`${source}: invalid port ${JSON.stringify(url.port)} (expected 1 to 65535)`);
  // pg would send these as start-up settings over the console's own (a URL's
  // statement_timeout=0 beat --statement-timeout): the console's safety settings win, always.
  for (const [key, value] of url.searchParams) {
    const conflict = (REFUSED_URL_PARAMETERS as readonly string[]).includes(key.toLowerCase()) ? key : key.toLowerCase() === 'options' ? optionsConflict(value) : null;
    if (conflict !== null) {
      throw new UsageError(
        `${source}: the URL ${conflict === key ? 'parameter' : 'options setting'} ${quoted(conflict, 40)} is refused: the console sets read-only and the timeouts itself (use --read-only, --statement-timeout)`,
      );
    }
  }
  return { kind: 'postgres', connectionString: raw, label: labelOf(url, source) };
}

/** The PG* variables (and USER, pg's default user) of `env`. */
function libpqEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (value !== undefined && (key.startsWith('PG') || key === 'USER')) out[key] = value;
  return out;
}

export function resolveConnection(flags: RawConnectionFlags, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const parsedEnv = envSchema.parse(env);
  registerSecret(parsedEnv.PGPASSWORD);

  let target: ConnectionTarget;
  if (flags.databaseUrl !== undefined) {
    const from = flags.databaseUrlFrom ?? '--database-url';
    if (flags.databaseUrl.trim() === '') throw new UsageError(`${from}: empty`);
    target = parseDatabaseUrl(flags.databaseUrl, from);
  } else if (nonEmpty(parsedEnv.NOETL_DATABASE_URL)) {
    target = parseDatabaseUrl(parsedEnv.NOETL_DATABASE_URL!, 'NOETL_DATABASE_URL');
  } else if (nonEmpty(parsedEnv.DATABASE_URL)) {
    target = parseDatabaseUrl(parsedEnv.DATABASE_URL!, 'DATABASE_URL');
  } else {
    const port = nonEmpty(parsedEnv.PGPORT);
    if (port !== undefined && !validPort(port)) {
      throw new UsageError(`PGPORT: not a port number (1 to 65535): ${quoted(port, 40)}`);
    }
    const host = nonEmpty(parsedEnv.PGHOST) ?? 'localhost';
    const user = nonEmpty(parsedEnv.PGUSER) ?? (env.USER || 'postgres');
    const db = nonEmpty(parsedEnv.PGDATABASE) ?? user;
    target = { kind: 'postgres', label: safeText(`${host}${port ? `:${port}` : ''}/${db}`, 200) };
  }

  if (target.kind === 'postgres') target = { ...target, env: libpqEnv(env) };

  const envConflict = target.kind === 'postgres' ? optionsConflict(nonEmpty(parsedEnv.PGOPTIONS) ?? '') : null;
  if (envConflict !== null) {
    throw new UsageError(`PGOPTIONS: the setting ${quoted(envConflict, 40)} is refused: the console sets read-only and the timeouts itself (use --read-only, --statement-timeout)`);
  }

  const schemaSource = flags.schema !== undefined ? '--schema' : nonEmpty(parsedEnv.NOETL_SCHEMA) ? 'NOETL_SCHEMA' : 'default';
  const schema = flags.schema ?? nonEmpty(parsedEnv.NOETL_SCHEMA) ?? 'noetl';
  if (!SCHEMA_NAME.test(schema)) {
    throw new UsageError(`${schemaSource}: ${quoted(schema, 80)} is not a valid schema name (letters, digits, underscore; at most 63)`);
  }

  const envReadOnly = nonEmpty(parsedEnv.NOETL_CONSOLE_READ_ONLY);
  if (envReadOnly !== undefined && !/^(1|0|true|false|yes|no|on|off)$/i.test(envReadOnly)) {
    throw new UsageError(`NOETL_CONSOLE_READ_ONLY: expected 1 or 0, got ${quoted(envReadOnly, 40)}`);
  }
  const readOnly = Boolean(flags.readOnly) || (envReadOnly !== undefined && /^(1|true|yes|on)$/i.test(envReadOnly));

  const statementTimeoutMs = Math.round(
    // PostgreSQL takes at most 2^31-1 ms; a day is plenty for one statement.
    parseDuration('--statement-timeout', flags.statementTimeout ?? '15', 's', { min: 0.1, max: 86400 }) * 1000,
  );
  return { target, schema, readOnly, statementTimeoutMs, connectTimeoutMs: 10_000 };
}
