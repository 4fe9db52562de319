/**
 * A hot standby of the test server: `pg_basebackup -R -X stream` from
 * 127.0.0.1:5432 into a temp dir, then postgres on a free port (127.0.0.1
 * and a socket in the temp dir only), stopped and removed after. postgres
 * refuses to run as root: as root every step runs as the postgres user.
 * The primary must allow replication connections from 127.0.0.1 (.ci/run
 * adds the pg_hba.conf line).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { POSTGRES_URL } from './db.js';
import { eventually } from './eventually.js';
import { freePort } from './pgbouncer.js';

const BIN = ['/usr/lib/postgresql/15/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/17/bin'].find((d) => existsSync(join(d, 'pg_basebackup')));
const root = userInfo().uid === 0;

function asPostgres(command: string, args: string[], opts: { timeoutMs?: number } = {}): { status: number | null; output: string } {
  const [cmd, argv] = root ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** Why a standby cannot be made here, or null. */
export function standbyMissing(): string | null {
  if (!BIN) return 'no PostgreSQL server binaries (pg_basebackup) under /usr/lib/postgresql';
  if (root && spawnSync('runuser', ['--version']).status !== 0) return 'runuser is missing (postgres refuses to run as root)';
  return null;
}

export interface Standby {
  port: number;
  url(database?: string): string;
  stop(): Promise<void>;
}

export async function startStandby(): Promise<Standby> {
  if (!BIN) throw new Error(standbyMissing()!);
  const primary = new URL(POSTGRES_URL);
  const dir = mkdtempSync(join(tmpdir(), 'nc-standby-'));
  if (root) {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('postgres:'))!;
    const [, , uid, gid] = line.split(':');
    chownSync(dir, Number(uid), Number(gid));
  }
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const backup = asPostgres(join(BIN, 'pg_basebackup'), [
    '-h',
    primary.hostname,
    '-p',
    primary.port || '5432',
    '-U',
    'postgres',
    '-D',
    data,
    '-R',
    '-X',
    'stream',
    '-c',
    'fast',
    '--no-sync',
  ]);
  if (backup.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(
      `pg_basebackup from ${primary.host} failed: ${backup.output}` +
        (/pg_hba|replication connection/.test(backup.output)
          ? ' (the primary must allow replication from 127.0.0.1: .ci/run adds "host replication all 127.0.0.1/32 trust" to pg_hba.conf)'
          : ''),
    );
  }
  // The Debian layout keeps the configuration in /etc: the copy gets its own, minimal.
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const { rows } = await admin.query<{ name: string; setting: string }>(
    `SELECT name, setting FROM pg_settings WHERE name IN ('max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction')`,
  );
  await admin.end();
  const port = await freePort();
  writeFileSync(join(data, 'postgresql.conf'), [...rows.map((r) => `${r.name} = ${r.setting}`), 'hot_standby = on', 'shared_buffers = 16MB', 'fsync = off', ''].join('\n'));
  writeFileSync(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
  writeFileSync(join(data, 'pg_ident.conf'), '');
  if (root) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const started = asPostgres(join(BIN, 'pg_ctl'), ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']);
  const standby: Standby = {
    port,
    url: (database = 'test') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    async stop() {
      asPostgres(join(BIN, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  if (started.status !== 0) {
    const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
    await standby.stop();
    throw new Error(`the standby did not start: ${started.output}\n${log}`);
  }
  return standby;
}

/** Wait until the standby has replayed everything the primary had committed when called. */
export async function caughtUp(standby: Standby): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const { rows } = await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  await admin.end();
  const c = new pg.Client({ connectionString: standby.url() });
  await c.connect();
  try {
    await eventually('the standby to catch up', async () => (await c.query<{ ok: boolean }>('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [rows[0]!.lsn])).rows[0]?.ok, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
  } finally {
    await c.end();
  }
}
