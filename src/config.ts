import { z } from 'zod';
import { UsageError, registerSecret } from './errors.js';
import { parseDuration } from './duration.js';

export const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export type ConnectionTarget =
  | { kind: 'postgres'; connectionString?: string; label: string }
  | { kind: 'pglite'; dataDir: string; label: string };

export interface ConnectionOptions {
  target: ConnectionTarget;
  schema: string;
  readOnly: boolean;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
}

/** Raw flags shared by every command, as commander hands them over. */
export interface RawConnectionFlags {
  databaseUrl?: string;
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
});

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** host:port/db of a URL or of the PG* variables, never with a password. */
function labelOf(url: URL): string {
  const host = url.hostname || 'localhost';
  const port = url.port ? `:${url.port}` : '';
  const db = decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username) || 'postgres';
  return `${host}${port}/${db}`;
}

export function parseDatabaseUrl(raw: string, source: string): ConnectionTarget {
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw new UsageError(`${source}: the database URL contains control characters`);
  if (raw.startsWith('pglite:')) {
    const dataDir = raw.replace(/^pglite:(\/\/)?/, '');
    if (!dataDir) throw new UsageError(`${source}: pglite URL needs a directory, e.g. pglite:///var/tmp/noetl-demo`);
    return { kind: 'pglite', dataDir, label: `pglite:${dataDir}` };
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`${source}: not a valid URL (expected postgres://user@host:5432/db)`);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(`${source}: unsupported scheme ${JSON.stringify(url.protocol)} (expected postgres:// or postgresql://)`);
  }
  if (url.port && !/^\d{1,5}$/.test(url.port)) throw new UsageError(`${source}: invalid port`);
  if (url.password) registerSecret(decodeURIComponent(url.password));
  return { kind: 'postgres', connectionString: raw, label: labelOf(url) };
}

export function resolveConnection(flags: RawConnectionFlags, env: NodeJS.ProcessEnv = process.env): ConnectionOptions {
  const parsedEnv = envSchema.parse(env);
  registerSecret(parsedEnv.PGPASSWORD);

  let target: ConnectionTarget;
  if (flags.databaseUrl !== undefined) {
    if (flags.databaseUrl.trim() === '') throw new UsageError('--database-url: empty');
    target = parseDatabaseUrl(flags.databaseUrl, '--database-url');
  } else if (nonEmpty(parsedEnv.NOETL_DATABASE_URL)) {
    target = parseDatabaseUrl(parsedEnv.NOETL_DATABASE_URL!, 'NOETL_DATABASE_URL');
  } else if (nonEmpty(parsedEnv.DATABASE_URL)) {
    target = parseDatabaseUrl(parsedEnv.DATABASE_URL!, 'DATABASE_URL');
  } else {
    const port = nonEmpty(parsedEnv.PGPORT);
    if (port !== undefined && !/^\d{1,5}$/.test(port)) throw new UsageError(`PGPORT: not a port number: ${JSON.stringify(port)}`);
    const host = nonEmpty(parsedEnv.PGHOST) ?? 'localhost';
    const user = nonEmpty(parsedEnv.PGUSER) ?? (process.env.USER || 'postgres');
    const db = nonEmpty(parsedEnv.PGDATABASE) ?? user;
    target = { kind: 'postgres', label: `${host}${port ? `:${port}` : ''}/${db}` };
  }

  const schema = flags.schema ?? nonEmpty(parsedEnv.NOETL_SCHEMA) ?? 'noetl';
  if (!SCHEMA_NAME.test(schema)) {
    throw new UsageError(`--schema: ${JSON.stringify(schema).slice(0, 80)} is not a valid schema name (letters, digits, underscore; at most 63)`);
  }

  const envReadOnly = nonEmpty(parsedEnv.NOETL_CONSOLE_READ_ONLY);
  if (envReadOnly !== undefined && !/^(1|0|true|false|yes|no|on|off)$/i.test(envReadOnly)) {
    throw new UsageError(`NOETL_CONSOLE_READ_ONLY: expected 1 or 0, got ${JSON.stringify(envReadOnly).slice(0, 40)}`);
  }
  const readOnly = Boolean(flags.readOnly) || (envReadOnly !== undefined && /^(1|true|yes|on)$/i.test(envReadOnly));

  const statementTimeoutMs = Math.round(
    parseDuration('--statement-timeout', flags.statementTimeout ?? '15', 's', { min: 0.1 }) * 1000,
  );
  return { target, schema, readOnly, statementTimeoutMs, connectTimeoutMs: 10_000 };
}
