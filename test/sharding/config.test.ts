/**
 * The config file's sharded sources and contexts, NoETL's shard DSN format
 * (read as noetl/server src/config/database.rs reads it), and the contexts
 * command and --context through the bin (nothing here connects).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, selectContext, type LoadedConfig } from '../../src/config-file.js';
import { parseNoetlDsn, parseNoetlShards } from '../../src/config-shards.js';
import { UsageError, redact } from '../../src/errors.js';
import { resolveSource } from '../../src/source-select.js';
import { jsonOf, runCli, show } from '../helpers/cli.js';

const SHARDS = ['postgres://u@h0:5432/s0', 'postgres://u@h1:5432/s1'];
const json = (v: unknown) => JSON.stringify(v);

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error('expected a UsageError');
}

describe("NoETL's shard DSN", () => {
  it('reads every key, in any order, with the defaults of the Rust server', () => {
    expect(parseNoetlDsn('host=postgres-0;port=6543;user=noetl;password=secret;database=noetl_shard0', 'X')).toMatchObject({
      kind: 'postgres',
      label: 'postgres-0:6543/noetl_shard0',
    });
    expect(parseNoetlDsn('user=noetl;host=p0', 'X')).toMatchObject({ label: 'p0:5432/noetl' });
    expect(parseNoetlDsn('host=p0;user=noetl;dbname=noetl_shard1;', 'X')).toMatchObject({ label: 'p0:5432/noetl_shard1' });
    // Any character but ";" and "," in a value: it reaches the driver as typed.
    const url = new URL((parseNoetlDsn('host=p0;user=no etl;password=p@ss:w/rd%=;database=d b', 'X') as { connectionString: string }).connectionString);
    expect([url.username, url.password, url.pathname].map(decodeURIComponent)).toEqual(['no etl', 'p@ss:w/rd%=', '/d b']);
  });

  it('refuses what the Rust server refuses, never echoing a value', () => {
    expect(errorOf(() => parseNoetlDsn('user=noetl', 'NOETL_SHARDS'))).toBe('NOETL_SHARDS: missing required key: host');
    expect(errorOf(() => parseNoetlDsn('host=p0', 'NOETL_SHARDS'))).toBe('NOETL_SHARDS: missing required key: user');
    expect(errorOf(() => parseNoetlDsn('host=p0;user=noetl;sslmode=require', 'N'))).toMatch(/unknown key "sslmode"/);
    expect(errorOf(() => parseNoetlDsn('host=p0;hunter2;user=noetl', 'N'))).toMatch(/a part without "="/);
    expect(errorOf(() => parseNoetlDsn('host=p0;hunter2;user=noetl', 'N'))).not.toContain('hunter2');
    expect(errorOf(() => parseNoetlDsn('host=p0;port=abc;user=noetl', 'N'))).toMatch(/invalid port/);
  });

  it('splits NOETL_SHARDS on commas, skipping blank entries, in order', () => {
    const shards = parseNoetlShards(' host=a;user=u , ,host=b;user=u;database=x,', 'NOETL_SHARDS');
    expect(shards.map((s) => s.label)).toEqual(['a:5432/noetl', 'b:5432/x']);
    expect(errorOf(() => parseNoetlShards('host=a;user=u,host=b', 'NOETL_SHARDS'))).toBe('NOETL_SHARDS (shard 1): missing required key: user');
  });

  it('registers the password: no message shows it', () => {
    parseNoetlDsn('host=h;user=u;password=Zq9-very-secret', 'N');
    expect(redact('failed for Zq9-very-secret')).toBe('failed for ***');
  });
});

describe('sharded sources and contexts in the config file', () => {
  const base = { sources: { prod: { type: 'noetl', shards: SHARDS, cluster_url: 'postgres://u@c/cluster' }, staging: { type: 'noetl', database_url: 'postgres://u@s/db' } } };

  it('takes shards with cluster_url, or shards_env with cluster_env', () => {
    expect(parseConfig(json(base), 'c.json').sources.prod).toMatchObject({ shards: SHARDS });
    expect(parseConfig(json({ sources: { p: { type: 'noetl', shards_env: 'NOETL_SHARDS', cluster_env: 'NOETL_CLUSTER_DSN' } } }), 'c.json').sources.p).toMatchObject({
      shards_env: 'NOETL_SHARDS',
    });
  });

  it.each([
    [{ shards: SHARDS, shards_env: 'X' }, /shards_env: give shards or shards_env, not both/],
    [{ shards: [] }, /shards: expected at least one shard/],
    [{ shards: ['pglite:///x'] }, /shards\[0\]: expected a database URL/],
    [{ cluster_url: 'postgres://c/d' }, /cluster_url: only with shards or shards_env/],
    [{ shards: SHARDS, database_url: 'postgres://a/b' }, /database_url: not with shards/],
    [{ shards: SHARDS, server_url: 'http://noetl' }, /server_url: not with shards/],
    [{ shards_env: 'not a name' }, /shards_env: expected the name of an environment variable/],
  ])('refuses %j', (patch, message) => {
    expect(errorOf(() => parseConfig(json({ sources: { p: { type: 'noetl', ...patch } } }), 'c.json'))).toMatch(message);
  });

  it.each([
    [[{ name: 'a', source: 'nope' }], /contexts\[0\]\.source: no source named "nope"/],
    [
      [
        { name: 'a', source: 'prod' },
        { name: 'a', source: 'staging' },
      ],
      /contexts\[1\]\.name: "a" is named twice/,
    ],
    [[{ name: 'a', source: 'prod', colour: 'purple' }], /contexts\[0\]\.colour: expected one of red, green/],
    [[{ name: 'a', source: 'prod', read_only: 'yes' }], /contexts\[0\]\.read_only: expected true or false/],
    [[{ name: 'a b', source: 'prod' }], /contexts\[0\]\.name: expected a context name/],
  ])('refuses contexts %j', (contexts, message) => {
    expect(errorOf(() => parseConfig(json({ ...base, contexts }), 'c.json'))).toMatch(message);
  });

  it('picks --context, else default_context unless --source is given', () => {
    const loaded: LoadedConfig = {
      file: 'c.json',
      path: '/c.json',
      config: parseConfig(
        json({
          ...base,
          contexts: [
            { name: 'prod-eu', source: 'prod', read_only: true, colour: 'red' },
            { name: 'stg', source: 'staging' },
          ],
          default_context: 'stg',
        }),
        'c.json',
      ),
    };
    expect(selectContext(loaded, 'prod-eu', undefined)).toEqual({ name: 'prod-eu', source: 'prod', readOnly: true, colour: 'red' });
    expect(selectContext(loaded, undefined, undefined)).toEqual({ name: 'stg', source: 'staging', readOnly: false, colour: null });
    expect(selectContext(loaded, undefined, 'prod')).toBeNull();
    expect(errorOf(() => selectContext(loaded, 'prod-eu', 'prod'))).toMatch(/--context and --source: give one/);
    expect(errorOf(() => selectContext(loaded, 'nope', undefined))).toMatch(/no such context in c\.json \(contexts: prod-eu, stg\)/);
    expect(errorOf(() => selectContext(null, 'x', undefined))).toMatch(/no config file/);
  });
});

describe('contexts through the bin', () => {
  let dir: string;
  let config: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wt16-ctx-'));
    config = join(dir, 'noetl-console.config.json');
    writeFileSync(
      config,
      json({
        sources: { prod: { type: 'noetl', shards_env: 'NOETL_SHARDS' }, staging: { type: 'noetl', database_url: 'postgres://u@127.0.0.1:9/db' } },
        contexts: [
          { name: 'prod-eu', source: 'prod', read_only: true, colour: 'red' },
          { name: 'staging', source: 'staging', colour: 'green' },
        ],
        default_context: 'staging',
      }),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lists them, the default marked, without connecting or printing a password', async () => {
    const env = { NOETL_SHARDS: 'host=h;user=u;password=Never-Print-Me' };
    const r = await runCli(['contexts', '--json', '--config', config], { env });
    expect(r.code, show(r)).toBe(0);
    expect(jsonOf(r)).toMatchObject({
      default_context: 'staging',
      contexts: [
        { name: 'prod-eu', source: 'prod', read_only: true, colour: 'red', default: false },
        { name: 'staging', source: 'staging', read_only: false, colour: 'green', default: true },
      ],
    });
    const human = await runCli(['contexts', '--config', config, '--no-color'], { env });
    expect(human.stdout.split('\n')[1]).toMatch(/^\s+prod-eu\s+prod\s+noetl \(sharded\)\s+shards from \$NOETL_SHARDS\s+read-only$/);
    expect(human.stdout).toMatch(/^\*\s+staging/m);
    expect(r.stdout + human.stdout + r.stderr + human.stderr).not.toContain('Never-Print-Me');
  });

  it('refuses a write in a read-only context before connecting, as --read-only does', async () => {
    const env = { NOETL_SHARDS: 'host=127.0.0.1;port=9;user=u;password=Never-Print-Me' };
    const r = await runCli(['cancel', '611000000000001009', '--context', 'prod-eu', '--config', config], { env });
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toMatch(/refused: cancel writes, and this session is read-only/);
    expect(r.stderr).not.toContain('Never-Print-Me');
    // The session is read-only too: resolved like --read-only.
    const resolved = resolveSource({ config, context: 'prod-eu' }, { NOETL_SHARDS: 'host=h;user=u' }, dir);
    expect(resolved.connection.readOnly).toBe(true);
    expect(resolved.shards).toEqual(['h:5432/noetl']);
    expect(resolveSource({ config }, {}, dir).connection.readOnly).toBe(false);
  });

  it('refuses an unknown context, and --context with --source', async () => {
    const a = await runCli(['list', '--context', 'nope', '--config', config]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--context "nope": no such context/);
    const b = await runCli(['list', '--context', 'staging', '--source', 'prod', '--config', config]);
    expect(b.code).toBe(2);
  });
});
