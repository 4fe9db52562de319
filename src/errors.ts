/** Exit codes, documented in --help and README. */
export const EXIT = {
  ok: 0,
  operational: 1,
  usage: 2,
  partial: 3,
} as const;

/** Bad flags, ids, config or environment: exit 2, nothing written. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

/** Database unreachable, SQL error, timeout, refused write: exit 1. */
export class OperationalError extends Error {
  readonly exitCode = EXIT.operational;
}

const secrets = new Set<string>();

/** Remember a secret (a password) so that no message ever prints it. */
export function registerSecret(value: string | undefined | null): void {
  if (value && value.length >= 1) secrets.add(value);
}

/** Remove passwords from any text before it reaches a terminal or a log. */
export function redact(text: string): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s]*)@/gi, '$1***@');
  out = out.replace(/(password\s*=\s*)('[^']*'|\S+)/gi, '$1***');
  // Longest first: a secret inside another (one shard's password in another's) must not leave the rest showing.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret.length >= 3) out = out.split(secret).join('***');
  }
  return out;
}

interface PgLikeError {
  code?: string;
  message?: string;
  errno?: number;
}

/** Translate a driver or server error into one line an operator can act on. */
export function describeDatabaseError(error: unknown, target: string): string {
  // The db layer's own errors (no answer, lost COMMIT, replica) already say it all.
  if (error instanceof OperationalError) return error.message;
  const e = (error ?? {}) as PgLikeError;
  const message = oneLine(e.message ?? String(error));
  switch (e.code) {
    case 'ECONNREFUSED':
      return `cannot connect to ${target}: connection refused`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to ${target}: host not found`;
    case 'ETIMEDOUT':
      return `cannot connect to ${target}: connection timed out`;
    case 'ECONNRESET':
    case 'EPIPE':
      return `lost the connection to ${target}: ${message}`;
    case '57014':
      return `statement timed out on ${target} (raise --statement-timeout, or another session holds a lock): ${message}`;
    case '55P03':
      return `statement timed out on ${target} waiting for a lock another session holds (raise --statement-timeout): ${message}`;
    case '25006':
      return `the database refused the write: the session is read-only (${message})`;
    case '42501':
      return `permission denied on ${target}: ${message} (see README, "Grants")`;
    case '57P01':
    case '57P02':
    case '57P03':
      return `the server closed the session on ${target}: ${message}`;
    case '3D000':
      return `database does not exist on ${target}: ${message}`;
    case '28000':
    case '28P01':
      return `authentication failed for ${target}: ${message}`;
    case '42P01':
      return `${message} on ${target} (is --schema right?)`;
    case '40P01':
      return `deadlock detected on ${target}, nothing was written by the failed transaction: ${message}`;
    default:
      if (/Connection terminated|connection.*(closed|ended)/i.test(message)) {
        return `lost the connection to ${target}: ${message}`;
      }
      return `database error on ${target}: ${message}${e.code && /^[0-9A-Z]{5}$/.test(e.code) ? ` (SQLSTATE ${e.code})` : ''}`;
  }
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** A value an operator typed, quoted for a message: redacted first, then cut, so a cut never exposes a password. */
export function quoted(value: string, max = 60): string {
  const text = JSON.stringify(redact(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
