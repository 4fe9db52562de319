/**
 * NoETL's own shard connection strings, read as the Rust server reads them
 * (noetl/server src/config/database.rs, ShardConnection::parse and
 * ShardingConfig::from_env): NOETL_SHARDS is a comma-separated list, in shard
 * order, of `host=..;port=..;user=..;password=..;database=..` (semicolon-separated
 * key=value, any order; `dbname` for database; port 5432, password empty and
 * database noetl by default; host and user required; any other key refused);
 * blank entries are skipped. NOETL_CLUSTER_DSN is one such string.
 */
import { parseDatabaseUrl, type ConnectionTarget } from './config.js';
import { UsageError, registerSecret } from './errors.js';
import { safeText } from './sanitize.js';

interface NoetlDsn {
  host: string;
  port: string;
  user: string;
  password: string;
  database: string;
}

/** One `host=..;user=..` string as a connection target; `from` names it in messages. Never echoes a value. */
export function parseNoetlDsn(raw: string, from: string): ConnectionTarget {
  const found: Partial<NoetlDsn> = {};
  // The password first, so that no later message can show it.
  for (const pair of raw.split(';')) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === 'password') registerSecret(pair.slice(eq + 1));
  }
  for (const pair of raw.split(';')) {
    if (pair.trim() === '') continue;
    const eq = pair.indexOf('=');
    if (eq < 0) throw new UsageError(`${from}: a part without "=" (expected key=value pairs separated by ";")`);
    const key = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1);
    switch (key) {
      case 'host':
      case 'user':
      case 'password':
        found[key] = value;
        break;
      case 'port':
        if (!/^\d{1,5}$/.test(value) || Number(value) < 1 || Number(value) > 65535) throw new UsageError(`${from}: invalid port (expected 1 to 65535)`);
        found.port = value;
        break;
      case 'database':
      case 'dbname':
        found.database = value;
        break;
      default:
        throw new UsageError(`${from}: unknown key ${JSON.stringify(safeText(key, 40))} (expected host, port, user, password, database)`);
    }
  }
  if (found.host === undefined || found.host === '') throw new UsageError(`${from}: missing required key: host`);
  if (found.user === undefined) throw new UsageError(`${from}: missing required key: user`);
  const enc = encodeURIComponent;
  const auth = `${enc(found.user)}${found.password ? `:${enc(found.password)}` : ''}`;
  const database = enc(found.database ?? 'noetl');
  const port = found.port ?? '5432';
  const url = found.host.startsWith('/')
    ? `postgres://${auth}@:${port}/${database}?host=${enc(found.host)}`
    : `postgres://${auth}@${found.host.includes(':') ? `[${found.host}]` : enc(found.host)}:${port}/${database}`;
  return parseDatabaseUrl(url, from);
}

/** NOETL_SHARDS: the shards in order; blank entries skipped. */
export function parseNoetlShards(raw: string, from: string): ConnectionTarget[] {
  const parts = raw.split(',').map((s) => s.trim());
  const targets: ConnectionTarget[] = [];
  for (const part of parts) if (part !== '') targets.push(parseNoetlDsn(part, `${from} (shard ${targets.length})`));
  return targets;
}
