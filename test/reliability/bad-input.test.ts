/**
 * Promise 4, bad input: a generated corpus of well over 1,000 hostile
 * command lines and environments (test/helpers/reliability-corpus.ts) run
 * through the bin's own run(argv, io), in this process (test/helpers/cli.ts;
 * the spawned bin's exit codes, stderr and EPIPE are the smoke tests'),
 * several at a time. Each must exit 2 (or 1 for a
 * well-formed but unreachable target), print exactly one line on stderr
 * with no stack trace and no raw control characters, print nothing on
 * stdout, and leave the event table's row count unchanged (checked after
 * every category, so a category that writes is named).
 *
 * Every case points at a real database and schema with running executions,
 * so that an input wrongly accepted would really run (and maybe write).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type pg from 'pg';
import { Scenario } from '../fixtures/scenario.js';
import { createTestDatabase, type TestDatabase, describePostgres } from '../helpers/db.js';
import { buildCorpus, type CorpusCase } from '../helpers/reliability-corpus.js';
import { runCli, type CliResult } from '../helpers/cli.js';
import { connect, countEvents, stderrProblems, uniqueIdBase } from '../helpers/reliability.js';
import { mapLimit } from '../helpers/concurrency.js';

const SEED = Number(process.env.NOETL_CORPUS_SEED ?? 20260611);
const PARALLEL = 4;

let t: TestDatabase;
let admin: pg.Client;
let corpus: CorpusCase[] = [];
const totals = { cases: 0, failed: 0, byExit: {} as Record<string, number> };

beforeAll(async () => {
  t = await createTestDatabase('postgres');
  const s = new Scenario(uniqueIdBase());
  const root = s.execution({ path: 'hostile/input', startedMinutesAgo: 240 }).issued('extract', 200);
  s.execution({ path: 'hostile/input-child', startedMinutesAgo: 230, parent: root }).issued('work', 200);
  const other = s.execution({ path: 'hostile/input-2', dialect: 'rust', startedMinutesAgo: 240 }).issued('load', 200);
  await s.apply(t.db, t.schema);
  admin = await connect();
  corpus = buildCorpus({ url: t.url, schema: t.schema, running: root.id, running2: other.id, seed: SEED });
});

afterAll(async () => {
  console.log(`bad input: ${totals.cases} hostile command lines/environments run (seed ${SEED}), exits ${JSON.stringify(totals.byExit)}, ${totals.failed} not handled as promised`);
  await admin?.end().catch(() => undefined);
  await t?.close();
});

function show(c: CorpusCase): string {
  const envDiff = Object.entries(c.env)
    .filter(([k]) => !(k === 'NOETL_DATABASE_URL' && c.env[k] === t.url) && !(k === 'NOETL_SCHEMA' && c.env[k] === t.schema))
    .map(([k, v]) => `${k}=${JSON.stringify(v)?.slice(0, 60)}`);
  const args = c.args.map((a) => (a.length > 60 ? `${JSON.stringify(a.slice(0, 40))}…(${a.length})` : JSON.stringify(a))).join(' ');
  return `${envDiff.join(' ')}${envDiff.length ? ' ' : ''}noetl-console ${args}${c.stdin !== undefined ? ` <<< ${JSON.stringify(c.stdin.slice(0, 40))}` : ''}`;
}

function problemsOf(c: CorpusCase, r: CliResult): string[] {
  const problems: string[] = [];
  if (!c.expect.includes(r.code ?? -1)) problems.push(`exit ${r.code} (expected ${c.expect.join(' or ')})`);
  if (r.stdout !== '') problems.push('printed on stdout');
  problems.push(...stderrProblems(r));
  if (/unexpected error/i.test(r.stderr)) problems.push('an unclassified exception ("unexpected error")');
  return problems;
}

async function runCategory(name: string): Promise<void> {
  const cases = corpus.filter((c) => c.category === name);
  expect(cases.length).toBeGreaterThan(0);
  const before = await countEvents(admin, t.schema);
  const results = await mapLimit(cases, PARALLEL, (c) => runCli(c.args, { env: c.env, ...(c.stdin !== undefined ? { input: c.stdin } : {}) }));
  const after = await countEvents(admin, t.schema);
  const failures: string[] = [];
  const byProblem = new Map<string, string[]>();
  results.forEach((r, i) => {
    const c = cases[i]!;
    totals.cases++;
    totals.byExit[String(r.code)] = (totals.byExit[String(r.code)] ?? 0) + 1;
    const problems = problemsOf(c, r);
    if (problems.length) {
      totals.failed++;
      for (const p of problems) byProblem.set(p, [...(byProblem.get(p) ?? []), `${show(c)}\n        -> ${JSON.stringify(r.stderr.slice(0, 160))}`]);
    }
  });
  for (const [problem, list] of byProblem) failures.push(`${problem}: ${list.length} case(s), e.g.\n      ${list.slice(0, 4).join('\n      ')}`);
  console.log(
    `bad input, ${name}: ${cases.length} cases, ${results.filter((r, i) => problemsOf(cases[i]!, r).length === 0).length} handled as promised; event rows ${before} -> ${after}`,
  );
  expect(failures, `${name}: cases not handled as promised`).toEqual([]);
  expect(after, `${name}: the event table changed`).toBe(before);
}

describePostgres('bad input: hostile command lines and environments', () => {
  it('the corpus has at least 1,000 cases', () => {
    const counts: Record<string, number> = {};
    for (const c of corpus) counts[c.category] = (counts[c.category] ?? 0) + 1;
    console.log(`bad input corpus: ${corpus.length} cases ${JSON.stringify(counts)}`);
    expect(corpus.length).toBeGreaterThanOrEqual(1000);
  });

  for (const category of [
    'unknown flags',
    'unknown commands',
    'missing or conflicting values',
    'numbers',
    'ids',
    'ids (stdin)',
    'values',
    'connection URLs',
    'schema names',
    'PG* environment',
    'other environment',
    'unreachable targets',
    'combinations',
    'stray words',
  ]) {
    it(`${category}: exit 2 (or 1 when unreachable), one line on stderr, nothing written`, () => runCategory(category), 240_000);
  }

  it('every case of the corpus belongs to a category that ran', () => {
    expect(totals.cases).toBe(corpus.length);
  });
});
