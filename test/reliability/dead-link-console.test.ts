/**
 * Issue 13, bounded everything, for the long-running processes: the console
 * and `metrics --listen` behind the fault-injecting proxy, whose link then
 * stops relaying without closing. The console says "disconnected" (its
 * refresh interval plus the deadline later) and `q` ends it; metrics answers
 * every scrape in time, with scrape_success 0, and SIGTERM ends it even with
 * a client that never finishes its request.
 */
import { connect as tcpConnect } from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { POSTGRES_SKIP_REASON, createTestDatabase, describePostgres, type TestDatabase } from '../helpers/db.js';
import { FaultProxy } from '../helpers/fault-proxy.js';
import { freePort } from '../helpers/pgbouncer.js';
import { startCli, uniqueIdBase } from '../helpers/reliability.js';
import { eventually } from '../helpers/eventually.js';
import { TmuxSession, ensureBuilt } from '../tmux/tmux.js';

let t: TestDatabase;
let proxy: FaultProxy | null = null;
const sessions: TmuxSession[] = [];

beforeAll(async () => {
  if (POSTGRES_SKIP_REASON) return;
  ensureBuilt();
  t = await createTestDatabase('postgres');
  const s = new Scenario(uniqueIdBase());
  s.execution({ path: 'dead-console/a', startedMinutesAgo: 120 }).issued('extract', 100);
  await s.apply(t.db, t.schema);
});

afterEach(async () => {
  await proxy?.close();
  proxy = null;
});

afterAll(async () => {
  if (POSTGRES_SKIP_REASON) return;
  for (const s of sessions) s.kill();
  await t?.close();
});

function gauge(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describePostgres('the console on a link that stops relaying', () => {
  it('says "disconnected" and quits on q, leaving the normal screen', async () => {
    proxy = await FaultProxy.start();
    const tm = new TmuxSession();
    sessions.push(tm);
    tm.startInShell(['--database-url', proxy.url(t.url), '--schema', t.schema, '--older-than', '100', '--refresh', '1', '--statement-timeout', '1']);
    await tm.waitForText('dead-console/a');
    proxy.stallAll();
    // The refresh in flight gets no answer: 1 s of refresh plus the 3 s deadline, then the banner.
    const screen = await tm.waitForText(/disconnected, retrying/, 30_000);
    expect(screen).toMatch(/· no answer from 127\.0\.0\.1:/);
    tm.keys('q');
    const after = await tm.waitForText(/EXITED \d+/, 10_000);
    expect(after).toMatch(/EXITED 0/);
    expect(tm.format('#{alternate_on}|#{cursor_flag}')).toBe('0|1');
  });
});

describePostgres('metrics --listen on a link that stops relaying', () => {
  it('answers each scrape in time with scrape_success 0, and stops on SIGTERM with a slow client connected', async () => {
    proxy = await FaultProxy.start();
    const port = await freePort();
    const run = startCli(['metrics', '--listen', `127.0.0.1:${port}`, '--cache', '1', '--statement-timeout', '1'], {
      env: { NOETL_DATABASE_URL: proxy.url(t.url), NOETL_SCHEMA: t.schema },
      timeoutMs: 120_000,
    });
    let stderr = '';
    run.child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await eventually('metrics to listen', async () => /serving metrics/.test(stderr));
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'X-Prometheus-Scrape-Timeout-Seconds': '2' }, signal: AbortSignal.timeout(30_000) });
      return res.text();
    };
    expect(gauge(await scrape(), 'noetl_console_scrape_success')).toBe(1);
    proxy.stallAll();
    await new Promise((r) => setTimeout(r, 1100)); // past the cache
    for (let i = 0; i < 3; i++) {
      const text = await scrape();
      expect(gauge(text, 'noetl_console_scrape_success')).toBe(0);
      expect(gauge(text, 'noetl_console_running_executions')).toBeUndefined();
    }
    // A client that never finishes its request.
    const slow = tcpConnect(port, '127.0.0.1');
    slow.on('error', () => {});
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
    run.child.kill('SIGTERM');
    const r = await run.done;
    slow.destroy();
    expect({ code: r.code, signal: r.signal }).toEqual({ code: 0, signal: null });
  });
});
