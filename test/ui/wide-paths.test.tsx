/**
 * CJK and emoji take two terminal cells a character: widths are measured in
 * cells (string-width), so such a path does not shift the columns after it,
 * in `list` and in the console's table alike (src/format/columns.ts).
 */
import stringWidth from 'string-width';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Scenario } from '../fixtures/scenario.js';
import { runCli, show } from '../helpers/cli.js';
import { backends, createTestDatabase, type TestDatabase } from '../helpers/db.js';
import { renderApp, rowOf, waitForText } from './helpers.js';

const PATHS = [
  { path: 'etl/数据-夜间批处理-装载', minutes: 130, age: '2h10m' },
  { path: 'etl/🚀🚀-launch-🛰️-orbit', minutes: 140, age: '2h20m' },
  { path: 'etl/plain-ascii', minutes: 150, age: '2h30m' },
];

/** The terminal cell just after `token` in `line`. */
const cellAfter = (line: string, token: string) => stringWidth(line.slice(0, line.indexOf(token) + token.length));

describe.each(backends())('wide characters in paths on %s', (backend) => {
  let t: TestDatabase;
  const ids: string[] = [];
  beforeAll(async () => {
    t = await createTestDatabase(backend, {}, { onDisk: true });
    const s = new Scenario();
    for (const p of PATHS) ids.push(s.execution({ path: p.path, startedMinutesAgo: p.minutes }).step('a', p.minutes - 5).id);
    await s.apply(t.db, t.schema);
  });
  afterAll(async () => t?.close());

  it('keep the console table columns in place', async () => {
    const screen = renderApp({ db: t.db, schema: t.schema });
    try {
      const frame = await waitForText(screen, ids[0]!.slice(-6));
      const header = frame.split('\n').find((l) => /\bPATH\b.*\bAGE\b/.test(l))!;
      const ageEnd = cellAfter(header, /AGE\S*/.exec(header)![0]); // the sort arrow stands after the title
      PATHS.forEach((p, i) => {
        const row = rowOf(frame, ids[i]!);
        expect(row, frame).toBeDefined();
        expect(cellAfter(row!, p.age), `${p.path}:\n${frame}`).toBe(ageEnd);
      });
    } finally {
      screen.unmount();
    }
  });

  it('keep the columns of list in place', async () => {
    if (backend === 'pglite') await t.db.close(); // one process at a time on a PGlite directory
    const r = await runCli(['list', '--database-url', t.url, '--schema', t.schema, '--older-than', '60']);
    expect(r.code, show(r)).toBe(0);
    const [header, ...rows] = r.stdout.trimEnd().split('\n');
    const ageEnd = cellAfter(header!, 'AGE');
    PATHS.forEach((p, i) => {
      const row = rows.find((l) => l.startsWith(ids[i]!));
      expect(row, r.stdout).toContain(p.path);
      expect(cellAfter(row!, p.age), r.stdout).toBe(ageEnd);
    });
  });
});
