/**
 * A generated corpus of hostile command lines and environments for the
 * bad-input test (promise 4). Every case names a real target (the test's
 * database and schema, with running executions) so that if the hostile part
 * were accepted, the command would really run, and a write would show in
 * the event table's row count.
 *
 * Each case expects exit 2 (bad usage or input) or 1 (a well-formed target
 * that cannot be reached or is not a NoETL schema).
 */
import { prng } from './reliability.js';

export interface CorpusCase {
  category: string;
  args: string[];
  env: Record<string, string | undefined>;
  stdin?: string;
  /** Acceptable exit codes. */
  expect: number[];
}

export interface CorpusTarget {
  url: string;
  schema: string;
  /** A running root (with a running child) and another running execution. */
  running: string;
  running2: string;
  seed: number;
}

const ESC = '\u001b';

/** Numbers no flag accepts (minutes, counts, seconds alike). */
export const BAD_NUMBERS = [
  '-1',
  '-0',
  '-5m',
  '1e9',
  '1e3',
  '99999999999999999999',
  '1'.repeat(400),
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '0b1',
  '1_000',
  '',
  ' ',
  '\t',
  '5 m',
  '5min',
  '5mm',
  '1.2.3',
  '.5',
  '1.',
  '\u0661\u0662',
  '\uff15',
  '5;',
  "5'",
  '5 OR 1=1',
  '$(echo 5)',
  '`5`',
  '5e',
  '1e-3',
  '+5',
  '3600000000',
  '999999999d',
  '11y',
  `5${ESC}[2J`,
  '\u202e5',
  '0.0000001',
  '5h5m',
  '-',
  '--5',
  '5\n6',
  'five',
  '\u00bd',
  '1,5',
  '0o7',
  '5 --json',
];

/** Execution ids that are not positive integers fitting a bigint. */
export const BAD_IDS = (schema: string, running: string) => [
  '',
  ' ',
  '1 2',
  '1\t2',
  '-5',
  '0',
  '00',
  '-0',
  '1.0',
  '1e5',
  '0x1F',
  "1'",
  '1"',
  `1; DROP TABLE "${schema}".event`,
  '1 OR 1=1',
  "1' OR '1'='1",
  '1--',
  '\uff11\uff12\uff13',
  '\u0663',
  '9223372036854775808',
  '99999999999999999999',
  '+1',
  'null',
  'undefined',
  'NaN',
  '[1]',
  '{"id":1}',
  '$(id)',
  '`id`',
  '\u202e123',
  `${ESC}[2J`,
  '1\r2',
  '1\n2',
  '\u00ff',
  '\u{1F600}',
  'a'.repeat(5000),
  '1'.repeat(20),
  '123abc',
  'abc123',
  `${running}x`,
  `${running} ${running}`,
  `\u200b${running}`,
  `-${running}`,
  `${running}.0`,
  `${running}e0`,
  `0x${BigInt(running).toString(16)}`,
];

const UNKNOWN_FLAGS = [
  '--forse',
  '--force',
  '--older-thann',
  '--jsn',
  '--JSON',
  '-x',
  '-j',
  '--json=yes',
  '--cascade=true',
  '--dry-run=1',
  '--no-json',
  '--read-only=0',
  '--DRY-RUN',
  '--dry_run',
  '--reason=',
  '---json',
  `--${ESC}[2J`,
  '--a\nb',
  '--\u00f1',
  "--' OR 1=1 --",
  '--older-than=5;DROP',
  '-\u{1F642}',
  `--${'x'.repeat(3000)}`,
  '--yes',
  '-y',
  '--all',
];

/** Words where a subcommand expects none, or typographic look-alikes of flags: never silently ignored. */
const STRAY_WORDS = ['\u2014dry-run', '\u2013json', 'dry-run', 'extra', "'; DROP TABLE x; --", '\u2014\u2014cascade'];

const UNKNOWN_COMMANDS = [
  'cancle',
  'CANCEL',
  'rm',
  'drop',
  'list;',
  '\uff4c\uff49\uff53\uff54',
  'list\n',
  `${ESC}[2Jlist`,
  '',
  ' ',
  'help2',
  'sql',
  "'; DROP TABLE x; --",
  'kill',
  '\u202etsil',
  'list --json',
];

const BAD_URLS_USAGE = [
  'not a url',
  'localhost:5432',
  '127.0.0.1',
  'http://127.0.0.1:5432/test',
  'mysql://u@h/db',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'postgres://[::1',
  'postgres://u@h:99999/db',
  'postgres://u@h:-1/db',
  'postgres://u@h:abc/db',
  `postgres://${ESC}[2J@h/db`,
  'postgres://h/db\n',
  'pglite:',
  'pglite://',
  'postgres://u@127.0.0.1:5432/%E0%A4%A',
  'postgres://%zz@127.0.0.1/test',
  'postgres://u:%zz@127.0.0.1/test',
  '\u202epostgres://127.0.0.1/test',
  'postgres ://127.0.0.1/test',
  '//127.0.0.1/test',
  'postgres:',
  'postgres://u@h:0/db',
  'postgres://u@h:65536/db',
  ' ',
];

const BAD_URLS_UNREACHABLE = [
  'postgres://postgres@127.0.0.1:1/test',
  'postgres://postgres@127.0.0.1:5432/nc_no_such_db',
  'postgres://nc_no_such_role@127.0.0.1:5432/test',
  'postgres://postgres:pw@127.0.0.1:1/test',
  'postgresql://postgres@[::1]:1/test',
  "postgres://postgres@127.0.0.1:5432/test';%20DROP%20TABLE%20x;%20--",
  'postgres://postgres@127.0.0.1:5432/test%0Aevil',
  'postgres://postgres@127.0.0.1:5432/%1B%5B2Jtest',
];

const BAD_SCHEMAS = [
  ' ',
  '1abc',
  'a-b',
  'a b',
  'noetl"; DROP TABLE x; --',
  '"noetl"',
  '\u00f1',
  'a'.repeat(64),
  'public.event',
  'x.y',
  `${ESC}[2J`,
  'noetl\n',
  '$1',
  'pg_catalog;',
  '\u202enoetl',
  '-',
  "noetl'",
  'NOETL;',
  '*',
  'noetl\u0301',
];

const MISSING_SCHEMAS = ['nc_missing_schema', 'pg_catalog', 'information_schema', 'public'];

export function buildCorpus(t: CorpusTarget): CorpusCase[] {
  const rnd = prng(t.seed);
  const R = t.running;
  const R2 = t.running2;
  const env = { NOETL_DATABASE_URL: t.url, NOETL_SCHEMA: t.schema };
  const cases: CorpusCase[] = [];
  const usage = (category: string, args: string[], extra: Partial<CorpusCase> = {}) =>
    cases.push({ category, args, env: { ...env, ...(extra.env ?? {}) }, expect: extra.expect ?? [2], ...(extra.stdin !== undefined ? { stdin: extra.stdin } : {}) });

  // --- unknown flags, stray words and unknown commands -------------------
  const bases: string[][] = [['list'], ['show', R], ['cancel', R], ['fail', R], ['cleanup', '--older-than', '60'], ['health']];
  for (const base of bases) for (const flag of UNKNOWN_FLAGS) usage('unknown flags', [...base, flag]);
  for (const flag of UNKNOWN_FLAGS.slice(0, 8)) usage('unknown flags', [flag]);
  for (const base of [['list'], ['health'], ['cleanup', '--older-than', '60'], ['cleanup', '--older-than', '60', '--cascade'], ['show', R]]) {
    for (const word of STRAY_WORDS) usage('stray words', [...base, word]);
  }
  for (const cmd of UNKNOWN_COMMANDS) {
    usage('unknown commands', [cmd]);
    usage('unknown commands', [cmd, R, '--json']);
  }
  for (const args of [
    ['list', '--older-than'],
    ['show'],
    ['cancel'],
    ['fail'],
    ['cancel', R, '--reason'],
    ['cleanup'],
    ['cleanup', '--older-than'],
    ['show', R, '--events'],
    ['list', '--limit'],
    ['health', '--long-running'],
    ['list', '--database-url'],
    ['list', '--schema'],
    ['list', '--statement-timeout'],
    ['cleanup', '--older-than', '60', '--mark'],
    ['cleanup', '--older-than', '60', '--path'],
    ['cancel', '--cascade'],
    ['fail', '--json', '--dry-run'],
    ['cleanup', '--older-than', '60', '--older-than-minutes', '60'],
  ])
    usage('missing or conflicting values', args);

  // --- numbers ------------------------------------------------------------
  const numberSlots: { base: string[]; flag: string; extra: string[] }[] = [
    { base: ['list'], flag: '--older-than', extra: [] },
    { base: ['list'], flag: '--idle', extra: [] },
    { base: ['list'], flag: '--limit', extra: ['0', '1.5', '1000001'] },
    { base: ['cleanup'], flag: '--older-than', extra: ['0', '0.5', '30s', '59s'] },
    { base: ['cleanup'], flag: '--older-than-minutes', extra: ['0', '0.5'] },
    { base: ['cleanup', '--older-than', '60'], flag: '--idle', extra: [] },
    { base: ['cleanup', '--older-than', '60'], flag: '--limit', extra: ['0', '1000001'] },
    { base: ['show', R], flag: '--events', extra: ['0', '100001'] },
    { base: ['health'], flag: '--long-running', extra: [] },
    { base: ['health'], flag: '--older-than', extra: [] },
    { base: ['cancel', R], flag: '--statement-timeout', extra: ['0', '0.01', '0.09', '86401', '3000000'] },
    { base: ['list'], flag: '--statement-timeout', extra: ['0', '0.05'] },
  ];
  for (const slot of numberSlots) {
    // A reproducible subset of the shared bad numbers per flag, plus the flag's own.
    const values = [...BAD_NUMBERS.filter(() => rnd() < 0.25), ...slot.extra];
    for (const v of values) usage('numbers', [...slot.base, slot.flag, v]);
    usage('numbers', [...slot.base, `${slot.flag}=-1`]);
  }

  // --- execution ids -----------------------------------------------------------
  const badIds = BAD_IDS(t.schema, R);
  for (const id of badIds) {
    usage('ids', ['show', id]);
    usage('ids', ['cancel', id]);
    usage('ids', ['fail', '--cascade', id]);
    usage('ids', ['cancel', R, id, '--reason', 'must not be written']); // one bad id: nothing at all is written
    usage('ids', ['fail', '--', id, R2]);
    if (id.trim() !== '' && !id.includes('\n')) usage('ids (stdin)', ['cancel', '-'], { stdin: `${R}\n${id}\n${R2}\n` });
  }
  for (const stdin of ['', '\n\n', '# only a comment\n', 'abc\n', `${R},${R2}\n`, `${ESC}[2J\n`, 'x'.repeat(100_000), '\u00ff\u00fe\n', `${R}\n-\n`]) {
    usage('ids (stdin)', ['fail', '-', '--cascade'], { stdin });
  }
  usage('ids (stdin)', ['cancel', R, '-']);
  usage('ids (stdin)', ['cancel', '-', '-'], { stdin: `${R}\n` });

  // --- other values: reason, mark, path ---------------------------------------
  for (const reason of ['', ' ', '\t\n', 'x'.repeat(1001)]) {
    usage('values', ['cancel', R, '--reason', reason]);
    usage('values', ['fail', R, '--cascade', '--reason', reason]);
    usage('values', ['cleanup', '--older-than', '60', '--reason', reason]);
  }
  for (const mark of ['cancel', 'CANCELLED', 'completed', '', 'failed;DROP', 'cancelled ', ' failed', 'Failed', 'failed\n', 'running']) {
    usage('values', ['cleanup', '--older-than', '60', '--mark', mark]);
  }
  for (const path of ['', 'x'.repeat(501)]) {
    usage('values', ['list', '--path', path]);
    usage('values', ['cleanup', '--older-than', '60', '--path', path]);
  }

  // --- connection: URLs, schema names, PG* and other variables ----------------
  const urlCommands = [['list'], ['cancel', R]];
  for (const url of BAD_URLS_USAGE) {
    for (const base of urlCommands) {
      usage('connection URLs', [...base, '--database-url', url]);
      usage('connection URLs', base, { env: { NOETL_DATABASE_URL: url } });
      if (base[0] === 'list') usage('connection URLs', base, { env: { NOETL_DATABASE_URL: undefined, DATABASE_URL: url } });
    }
  }
  usage('connection URLs', ['list', '--database-url', '']);
  for (const url of BAD_URLS_UNREACHABLE) {
    for (const base of [...urlCommands, ['cleanup', '--older-than', '60']]) {
      usage('unreachable targets', [...base, '--database-url', url], { expect: [1] });
      usage('unreachable targets', base, { env: { NOETL_DATABASE_URL: url }, expect: [1] });
    }
  }
  for (const schema of BAD_SCHEMAS) {
    for (const base of [['list'], ['cancel', R]]) {
      usage('schema names', [...base, '--schema', schema]);
      usage('schema names', base, { env: { NOETL_SCHEMA: schema } });
    }
  }
  usage('schema names', ['list', '--schema', '']);
  for (const schema of MISSING_SCHEMAS) {
    usage('unreachable targets', ['list', '--schema', schema], { expect: [1] });
    usage('unreachable targets', ['cancel', R, '--schema', schema], { expect: [1] });
  }
  const u = new URL(t.url);
  const pgEnv = {
    NOETL_DATABASE_URL: undefined,
    PGHOST: u.hostname,
    PGPORT: u.port || '5432',
    PGUSER: decodeURIComponent(u.username) || 'postgres',
    PGDATABASE: u.pathname.slice(1),
  };
  for (const port of ['abc', '-1', '5432x', '1e3', ' ', '99999', '65536', '0', '54 32', `${ESC}[2J`]) {
    usage('PG* environment', ['list'], { env: { ...pgEnv, PGPORT: port } });
    usage('PG* environment', ['cancel', R], { env: { ...pgEnv, PGPORT: port } });
  }
  const pgUnreachable: Record<string, string>[] = [
    { PGHOST: 'bad\nhost' },
    { PGHOST: `${ESC}[2Jhost` },
    { PGHOST: '127.0.0.1:5432' },
    { PGHOST: 'nonexistent.invalid' },
    { PGDATABASE: 'nc_no_such_db' },
    { PGDATABASE: "test'; DROP DATABASE test; --" },
    { PGDATABASE: 'te\nst' },
    { PGUSER: 'nc_no_such_role' },
    { PGUSER: "postgres'--" },
    { PGPORT: '1' },
  ];
  for (const extra of pgUnreachable) {
    usage('unreachable targets', ['list'], { env: { ...pgEnv, ...extra }, expect: [1] });
    usage('unreachable targets', ['cancel', R], { env: { ...pgEnv, ...extra }, expect: [1] });
  }
  for (const ro of ['maybe', '2', 'yes please', ESC, '-1', 'truee', 'on\n', ' 1', 'TRUE!']) {
    usage('other environment', ['list'], { env: { NOETL_CONSOLE_READ_ONLY: ro } });
    usage('other environment', ['cancel', R], { env: { NOETL_CONSOLE_READ_ONLY: ro } });
  }

  // --- random combinations of two bad values ----------------------------------
  const pieces: string[][] = [
    ...UNKNOWN_FLAGS.map((f) => [f]),
    ...BAD_NUMBERS.map((n) => ['--statement-timeout', n]),
    ...BAD_SCHEMAS.map((s) => ['--schema', s]),
    ...BAD_URLS_USAGE.map((x) => ['--database-url', x]),
  ];
  const combiBases = [['list'], ['cancel', R, '--cascade'], ['fail', R2], ['cleanup', '--older-than', '60', '--cascade'], ['show', R], ['health']];
  for (let i = 0; i < 60; i++) {
    const base = combiBases[Math.floor(rnd() * combiBases.length)]!;
    const a = pieces[Math.floor(rnd() * pieces.length)]!;
    const b = pieces[Math.floor(rnd() * pieces.length)]!;
    usage('combinations', [...base, ...a, ...b]);
  }
  return cases;
}
