/**
 * A private PostgreSQL server for one test file: initdb into a temporary
 * directory, its own port, its own socket directory. Restarting or stopping
 * it cannot disturb the shared server that other test files use in
 * parallel, and it can require real password authentication
 * (scram-sha-256), which the shared server (trust on 127.0.0.1) does not.
 *
 * Needs the PostgreSQL server binaries (initdb, pg_ctl) of the machine; as
 * root they run as the `postgres` user (runuser), as any other user directly.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PrivateCluster {
  port: number;
  dir: string;
  /** postgres://user[:password]@127.0.0.1:port/postgres */
  url(user?: string, password?: string, database?: string): string;
  /** The superuser over the Unix socket (always trust): for setup and faults. */
  adminConfig(): { host: string; port: number; user: string; database: string };
  restart(): void;
  stop(): void;
  start(): void;
  destroy(): void;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const versions = readdirSync(base)
      .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(base, versions[0], 'bin');
  }
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (fromConfig.status === 0) return fromConfig.stdout.trim();
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPrivateCluster(opts: { scram?: boolean; superPassword?: string } = {}): Promise<PrivateCluster> {
  const bin = binDir();
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    execFileSync(file, argv, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  };
  const dir = mkdtempSync(join(tmpdir(), 'noetl-console-pg-'));
  const data = join(dir, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const initArgs = ['-D', data, '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync', '--auth-local=trust'];
  if (opts.scram) {
    const pwfile = join(dir, 'pw');
    writeFileSync(pwfile, `${opts.superPassword ?? 'super-secret-unused'}\n`, { mode: 0o644 });
    if (asRoot) chownSync(pwfile, Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim()), 0);
    initArgs.push('--auth-host=scram-sha-256', `--pwfile=${pwfile}`);
  } else {
    initArgs.push('--auth-host=trust');
  }
  run('initdb', initArgs);
  const options = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses='127.0.0.1'",
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c shared_buffers=16MB',
    '-c max_connections=40',
    '-c password_encryption=scram-sha-256',
  ].join(' ');
  const pgctl = (...args: string[]) => run('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '60', ...args]);
  const start = () => pgctl('-o', options, 'start');
  let destroyed = false;
  const stopQuietly = () => {
    try {
      pgctl('-m', 'immediate', 'stop');
    } catch {
      /* already stopped */
    }
  };
  const onExit = () => {
    if (!destroyed) {
      stopQuietly();
      rmSync(dir, { recursive: true, force: true });
    }
  };
  process.once('exit', onExit);
  start();
  return {
    port,
    dir,
    url(user = 'postgres', password?: string, database = 'postgres') {
      const u = new URL(`postgres://127.0.0.1:${port}/${database}`);
      u.username = encodeURIComponent(user);
      if (password !== undefined) u.password = encodeURIComponent(password);
      return u.toString();
    },
    adminConfig: () => ({ host: dir, port, user: 'postgres', database: 'postgres' }),
    restart: () => pgctl('-m', 'fast', 'restart'),
    stop: () => pgctl('-m', 'fast', 'stop'),
    start,
    destroy() {
      stopQuietly();
      destroyed = true;
      process.removeListener('exit', onExit);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
