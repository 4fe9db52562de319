/**
 * A stock pgbouncer (the Debian package) in front of the test server, started
 * by a test on a free 127.0.0.1 port with its config in a temp dir, stopped
 * after. It refuses to run as root: as root it is started with `-u postgres`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PGBOUNCER = ['/usr/sbin/pgbouncer', '/usr/bin/pgbouncer'].find((p) => spawnSync(p, ['--version']).status === 0) ?? null;

/** Why the pgbouncer tests cannot run here, or null. */
export function pgbouncerMissing(): string | null {
  return PGBOUNCER ? null : 'pgbouncer is not installed (apt-get install pgbouncer; .ci/run installs it)';
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Bouncer {
  port: number;
  /** A database URL of the test server's `database` through this pgbouncer. */
  url(database?: string): string;
  log(): string;
  stop(): Promise<void>;
}

export async function startPgbouncer(opts: { poolMode: 'transaction' | 'session'; ignoreOptions: boolean; poolSize: number; targetPort?: number }): Promise<Bouncer> {
  if (!PGBOUNCER) throw new Error(pgbouncerMissing()!);
  const dir = mkdtempSync(join(tmpdir(), 'nc-pgbouncer-'));
  const port = await freePort();
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=127.0.0.1 port=${opts.targetPort ?? 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      `pool_mode = ${opts.poolMode}`,
      `default_pool_size = ${opts.poolSize}`,
      'max_client_conn = 200',
      ...(opts.ignoreOptions ? ['ignore_startup_parameters = options'] : []),
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
    ].join('\n'),
  );
  const root = userInfo().uid === 0;
  if (root) {
    const { uid, gid } = userIds('postgres');
    chownSync(dir, uid, gid);
    for (const f of ['users.txt', 'pgbouncer.ini']) chownSync(join(dir, f), uid, gid);
  }
  const child: ChildProcess = spawn(PGBOUNCER, [...(root ? ['-u', 'postgres'] : []), join(dir, 'pgbouncer.ini')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const bouncer: Bouncer = {
    port,
    url: (database = 'test') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    log: () => {
      try {
        return readFileSync(join(dir, 'pgbouncer.log'), 'utf8');
      } catch {
        return stderr;
      }
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Up when it answers a query.
  for (let attempt = 0; ; attempt++) {
    const c = new pg.Client({ connectionString: bouncer.url(), connectionTimeoutMillis: 2000 });
    try {
      await c.connect();
      await c.query('SELECT 1');
      await c.end();
      return bouncer;
    } catch (error) {
      await c.end().catch(() => undefined);
      if (attempt > 50 || child.exitCode !== null) {
        const log = bouncer.log();
        await bouncer.stop();
        throw new Error(`pgbouncer did not start: ${(error as Error).message}\n${log}`, { cause: error });
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function userIds(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) throw new Error(`no user ${name}`);
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}
