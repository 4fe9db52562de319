/**
 * The context picker (`x`): two contexts of one config file on two
 * PostgreSQL schemas. Switching closes one database session and opens the
 * other; the header and the rows follow; a read-only context refuses `c` in
 * the console and its database session refuses a write made past the console.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App } from '../../components/App.js';
import { ContextSwitch } from '../../components/ContextSwitch.js';
import { openSession, type Session } from '../../components/session.js';
import { NoetlSource } from '../../src/noetl/source.js';
import { resolveSource } from '../../src/source-select.js';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, describePostgres, eventCount, POSTGRES_URL, type TestDatabase } from '../helpers/db.js';
import { KEYS, press, TEST_ACTOR, waitForNoText, waitForText, type Screen } from './helpers.js';

let prod: TestDatabase;
let stage: TestDatabase;
let dir: string;
let prodId: string;
const sessions: Session[] = [];
const FILTER = { olderThanSeconds: 300, idleSeconds: null, text: '', includeChildren: false };

/** Two sources on two schemas of the test server, a context each (prod read-only). */
function writeConfig(prodSchema: string, stageSchema: string): string {
  const at = mkdtempSync(join(tmpdir(), 'wt16b-contexts-'));
  writeFileSync(
    join(at, 'noetl-console.config.json'),
    JSON.stringify({
      sources: {
        prod: { type: 'noetl', database_url: POSTGRES_URL, schema: prodSchema },
        stage: { type: 'noetl', database_url: POSTGRES_URL, schema: stageSchema },
      },
      contexts: [
        { name: 'stage-eu', source: 'stage', colour: 'green' },
        { name: 'prod-eu', source: 'prod', read_only: true, colour: 'red' },
      ],
      default_context: 'stage-eu',
    }),
  );
  return at;
}

async function setUp() {
  [prod, stage] = await Promise.all([createTestDatabase('postgres'), createTestDatabase('postgres')]);
  const p = new Scenario(9_160_000_000_000_000n);
  prodId = p.execution({ path: 'wt16b/prod-only', startedMinutesAgo: 90 }).issued('load', 80).id;
  await p.apply(prod.db, prod.schema);
  const s = new Scenario(9_161_000_000_000_000n);
  s.execution({ path: 'wt16b/stage-only', startedMinutesAgo: 60 }).issued('load', 50);
  await s.apply(stage.db, stage.schema);
  dir = writeConfig(prod.schema, stage.schema);
}

async function tearDown() {
  for (const s of sessions) await s.close().catch(() => undefined);
  await prod?.close();
  await stage?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

function renderSwitch(initial: Session, open: (name: string) => Promise<Session>): Screen {
  const r = render(
    <ContextSwitch
      initial={initial}
      contexts={resolveSource({}, {}, dir).contexts}
      open={open}
      onSession={(s) => sessions.push(s)}
      filter={FILTER}
      refreshSeconds={600}
      color={false}
      actor={TEST_ACTOR}
      clipboard={() => undefined}
    />,
  );
  return { lastFrame: () => r.lastFrame() ?? '', frames: () => r.frames, write: (d) => r.stdin.write(d), unmount: () => r.unmount() };
}

describePostgres('the context picker', () => {
  beforeAll(setUp);
  afterAll(tearDown);

  it('switches database and context; a read-only context is refused by the console and by its session', async () => {
    const resolved = resolveSource({}, {}, dir);
    expect(resolved.context?.name).toBe('stage-eu');
    const first = await openSession(resolved);
    sessions.push(first);
    const screen = renderSwitch(first, (name) => openSession(resolved.forContext(name)));
    try {
      let f = await waitForText(screen, 'wt16b/stage-only');
      expect(f).toContain('[stage-eu]');
      expect(f).not.toContain('wt16b/prod-only');

      // The picker lists both, Esc leaves everything as it was.
      await press(screen, 'x');
      f = await waitForText(screen, 'Switch context');
      expect(f).toMatch(/>\* stage-eu +stage +noetl: schema nc_\w+ +read-write/);
      expect(f).toMatch(/ {3}prod-eu +prod +noetl: schema nc_\w+ +read-only/);
      await press(screen, KEYS.escape);
      f = await waitForNoText(screen, 'Switch context');
      expect(f).toContain('wt16b/stage-only');

      await press(screen, 'x');
      await waitForText(screen, 'Switch context');
      await press(screen, KEYS.down, KEYS.enter);
      f = await waitForText(screen, 'wt16b/prod-only');
      expect(f).toContain('[prod-eu]');
      expect(f).toContain('READ-ONLY');
      expect(f).not.toContain('wt16b/stage-only');
      // The first context's database session is closed.
      await expect(first.source.db.query('SELECT 1')).rejects.toThrow();

      const before = await eventCount(prod.db, prod.schema);
      await press(screen, 'c');
      f = await waitForText(screen, 'read-only mode: cannot cancel (context prod-eu is read-only)');
      // Past the console, the database session itself refuses (as --read-only).
      const current = sessions.at(-1)!;
      expect(current.context?.name).toBe('prod-eu');
      await expect(current.source.mark({ action: 'cancel', ids: [prodId], reason: 'wt16b read-only', cascade: true, dryRun: false, actor: TEST_ACTOR })).rejects.toMatchObject({
        code: '25006',
      });
      expect(await eventCount(prod.db, prod.schema)).toBe(before);

      // And back: writable again (the dialog opens).
      await press(screen, 'x');
      f = await waitForText(screen, 'Switch context');
      expect(f).toMatch(/>\* prod-eu/);
      await press(screen, KEYS.up, KEYS.enter);
      f = await waitForText(screen, 'wt16b/stage-only');
      expect(f).toContain('[stage-eu]');
      expect(f).toContain('read-write');
      await press(screen, 'c');
      await waitForText(screen, 'Reason');
    } finally {
      screen.unmount();
    }
  });

  it('a context that cannot be opened leaves the current one in place', async () => {
    const resolved = resolveSource({}, {}, dir);
    const first = await openSession(resolved);
    sessions.push(first);
    const screen = renderSwitch(first, async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:1');
    });
    try {
      await waitForText(screen, 'wt16b/stage-only');
      await press(screen, 'x');
      await waitForText(screen, 'Switch context');
      await press(screen, KEYS.down, KEYS.enter);
      const f = await waitForText(screen, 'still in stage-eu');
      expect(f).toContain('context prod-eu:');
      expect(f).toContain('[stage-eu]');
      expect(f).toContain('wt16b/stage-only');
      expect((await first.source.db.query<{ one: number }>('SELECT 1 AS one')).rows[0]!.one).toBe(1);
    } finally {
      screen.unmount();
    }
  });

  it('without contexts, x says so', async () => {
    const r = render(
      <App source={new NoetlSource(stage.db, stage.schema)} readOnly={false} filter={FILTER} refreshSeconds={600} color={false} actor={TEST_ACTOR} clipboard={() => undefined} />,
    );
    const screen: Screen = { lastFrame: () => r.lastFrame() ?? '', frames: () => r.frames, write: (d) => r.stdin.write(d), unmount: () => r.unmount() };
    try {
      await waitForText(screen, 'wt16b/stage-only');
      await press(screen, 'x');
      await waitForText(screen, 'no contexts: the config file has no contexts: list');
    } finally {
      screen.unmount();
    }
  });
});

describe('a switch resolves as --context NAME with the same flags', () => {
  let at = '';
  beforeAll(() => {
    at = writeConfig('wt16b_prod', 'wt16b_stage');
  });
  afterAll(() => rmSync(at, { recursive: true, force: true }));

  it("keeps --read-only, drops the first source's --database-url, --schema and --source", () => {
    const dir = at;
    const first = resolveSource({ source: 'stage', databaseUrl: 'postgres://elsewhere@10.0.0.9:5432/other', schema: 'other', readOnly: false }, {}, dir);
    expect(first.context).toBeNull();
    expect(first.contexts.map((c) => [c.name, c.source, c.readOnly, c.colour])).toEqual([
      ['stage-eu', 'stage', false, 'green'],
      ['prod-eu', 'prod', true, 'red'],
    ]);
    const prodCtx = first.forContext('prod-eu');
    expect(prodCtx.context?.name).toBe('prod-eu');
    expect(prodCtx.connection.target.label).toBe('127.0.0.1:5432/test');
    expect(prodCtx.connection.schema).toBe('wt16b_prod');
    expect(prodCtx.connection.readOnly).toBe(true);
    // --read-only holds for every context the console switches to.
    expect(resolveSource({ readOnly: true }, {}, dir).forContext('stage-eu').connection.readOnly).toBe(true);
    expect(first.forContext('stage-eu').connection.readOnly).toBe(false);
    expect(() => first.forContext('nope')).toThrow(/no such context/);
  });
});
