/**
 * NoETL's own DDL (noetl/noetl, noetl/database/ddl/postgres/schema_ddl.sql),
 * for tests that check the console against the real schema. It is never
 * copied into this repository: it is read from NOETL_UPSTREAM_DDL (a file),
 * else from a git mirror of noetl/noetl (NOETL_UPSTREAM_REPO, default
 * /work/.mirror/noetl+noetl/repo). Tests skip, saying why, when neither is there.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { POSTGRES_URL } from './db.js';

const DDL_PATH = 'noetl/database/ddl/postgres/schema_ddl.sql';
const DEFAULT_MIRROR = '/work/.mirror/noetl+noetl/repo';

let cached: { ddl: string | null; where: string } | null = null;

function find(): { ddl: string | null; where: string } {
  const file = process.env.NOETL_UPSTREAM_DDL;
  if (file) {
    // Asked for explicitly: a wrong path is an error, not a silent skip.
    if (!existsSync(file)) throw new Error(`NOETL_UPSTREAM_DDL=${file}: no such file`);
    return { ddl: readFileSync(file, 'utf8'), where: file };
  }
  const repo = process.env.NOETL_UPSTREAM_REPO ?? DEFAULT_MIRROR;
  const git = spawnSync('git', ['-C', repo, 'show', `HEAD:${DDL_PATH}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (git.status === 0 && git.stdout.trim()) return { ddl: git.stdout, where: `${repo} HEAD:${DDL_PATH}` };
  return { ddl: null, where: `no NOETL_UPSTREAM_DDL and no ${DDL_PATH} in a git mirror at ${repo} (NOETL_UPSTREAM_REPO)` };
}

/** NoETL's DDL, or null when no copy is available. */
export function upstreamDdl(): string | null {
  cached ??= find();
  return cached.ddl;
}

/** Where the DDL came from, or why there is none (for a skip message). */
export function upstreamDdlSource(): string {
  cached ??= find();
  return cached.where;
}

/**
 * A fresh database (nc_ddl_<random>) on the test server built the way NoETL
 * builds one: `CREATE SCHEMA noetl`, then its DDL unmodified. `fn` gets its
 * connection string; the database is dropped afterwards, whatever happens.
 */
export async function withUpstreamDatabase<T>(fn: (url: string) => Promise<T>): Promise<T> {
  const ddl = upstreamDdl();
  if (ddl === null) throw new Error(`NoETL's DDL is not available: ${upstreamDdlSource()}`);
  const name = `nc_ddl_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL, application_name: 'noetl-console-test' });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${name}`;
    try {
      const client = new pg.Client({ connectionString: url.toString(), application_name: 'noetl-console-test' });
      await client.connect();
      try {
        await client.query('SET client_min_messages = warning');
        await client.query('CREATE SCHEMA noetl');
        await client.query(ddl);
      } finally {
        await client.end();
      }
      return await fn(url.toString());
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
  } finally {
    await admin.end();
  }
}
