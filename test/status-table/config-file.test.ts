/**
 * The config file: where it is found, and that every problem is a
 * UsageError whose one line names the file and the key.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, selectSource, type LoadedConfig } from '../../src/config-file.js';
import { UsageError } from '../../src/errors.js';

const RUNS = {
  type: 'status-table',
  table: 'public.runs',
  id: { column: 'run_id', type: 'uuid' },
  status: { column: 'status', running: ['running'], failed: 'failed', cancelled: 'cancelled' },
  started_at: 'started_at',
};

const json = (value: unknown) => JSON.stringify(value, null, 2);
const withRuns = (patch: Record<string, unknown>) => json({ sources: { runs: { ...RUNS, ...patch } } });

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a UsageError');
}

describe('finding the config file', () => {
  let dir: string;
  const env = (extra: Record<string, string> = {}) => ({ ...extra }) as NodeJS.ProcessEnv;
  const write = (name: string, text: string) => writeFileSync(join(dir, name), text);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'noetl-console-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('none: null (NoETL as before)', () => {
    expect(loadConfig({ cwd: dir, env: env() })).toBeNull();
    expect(loadConfig({ cwd: dir, env: env({ NOETL_CONSOLE_CONFIG: '' }) })).toBeNull();
  });

  it('noetl-console.config.json, .yaml or .yml in the working directory', () => {
    write('noetl-console.config.yml', 'sources:\n  main: { type: noetl, schema: noetl }\n');
    const loaded = loadConfig({ cwd: dir, env: env() })!;
    expect(loaded.file).toBe('noetl-console.config.yml');
    expect(loaded.path).toBe(join(dir, 'noetl-console.config.yml'));
    expect(loaded.config.sources).toEqual({ main: { type: 'noetl', schema: 'noetl' } });
  });

  it('two of them is ambiguous', () => {
    write('noetl-console.config.json', json({ sources: { a: { type: 'noetl' } } }));
    write('noetl-console.config.yaml', 'sources: { a: { type: noetl } }\n');
    expect(errorOf(() => loadConfig({ cwd: dir, env: env() }))).toBe(
      `noetl-console.config.json and noetl-console.config.yaml both exist in ${dir}: keep one, or pick one with --config`,
    );
  });

  it('--config FILE wins over the working directory, which wins over NOETL_CONSOLE_CONFIG', () => {
    mkdirSync(join(dir, 'etc'));
    write('etc/flag.yaml', 'sources: { flag: { type: noetl } }\n');
    write('etc/env.json', json({ sources: { env: { type: 'noetl' } } }));
    const names = (l: LoadedConfig | null) => Object.keys(l!.config.sources);
    expect(names(loadConfig({ cwd: dir, env: env({ NOETL_CONSOLE_CONFIG: 'etc/env.json' }) }))).toEqual(['env']);
    expect(names(loadConfig({ cwd: dir, env: env({ NOETL_CONSOLE_CONFIG: join(dir, 'etc/env.json') }) }))).toEqual(['env']);
    write('noetl-console.config.yaml', 'sources: { cwd: { type: noetl } }\n');
    expect(names(loadConfig({ cwd: dir, env: env({ NOETL_CONSOLE_CONFIG: 'etc/env.json' }) }))).toEqual(['cwd']);
    const flag = loadConfig({ configPath: 'etc/flag.yaml', cwd: dir, env: env({ NOETL_CONSOLE_CONFIG: 'etc/env.json' }) })!;
    expect(flag.file).toBe('etc/flag.yaml');
    expect(names(flag)).toEqual(['flag']);
  });

  it('a named file that is missing, a directory, or empty', () => {
    expect(errorOf(() => loadConfig({ configPath: 'nope.yaml', cwd: dir, env: env() }))).toBe('nope.yaml: no such file');
    expect(errorOf(() => loadConfig({ cwd: dir, env: env({ NOETL_CONSOLE_CONFIG: 'gone.json' }) }))).toBe('gone.json: no such file');
    mkdirSync(join(dir, 'd.yaml'));
    expect(errorOf(() => loadConfig({ configPath: 'd.yaml', cwd: dir, env: env() }))).toBe('d.yaml: not a regular file');
    write('empty.yaml', '# nothing yet\n');
    expect(errorOf(() => loadConfig({ configPath: 'empty.yaml', cwd: dir, env: env() }))).toBe('empty.yaml: empty config (expected a mapping with "sources")');
    expect(errorOf(() => loadConfig({ configPath: '', cwd: dir, env: env() }))).toBe('--config: empty file name');
  });
});

describe('validation errors name the file and the key', () => {
  it('the same problem in YAML and in JSON', () => {
    const yaml = `sources:
  runs:
    type: status-table
    table: public.runs
    id: { column: run_id, type: uuid }
    status: { column: status, running: [], failed: failed }
    started_at: started_at
`;
    expect(errorOf(() => parseConfig(yaml, 'noetl-console.config.yaml'))).toBe('noetl-console.config.yaml: sources.runs.status.running: expected a non-empty list of strings');
    expect(errorOf(() => parseConfig(withRuns({ status: { ...RUNS.status, running: [] } }), 'noetl-console.config.json'))).toBe(
      'noetl-console.config.json: sources.runs.status.running: expected a non-empty list of strings',
    );
    expect(errorOf(() => parseConfig(withRuns({ status: { ...RUNS.status, running: ['ok', 3] } }), 'c.json'))).toBe(
      'c.json: sources.runs.status.running[1]: expected a non-empty list of strings',
    );
  });

  it('syntax errors', () => {
    expect(errorOf(() => parseConfig('{"sources": {', 'c.json'))).toMatch(/^c\.json: invalid JSON: /);
    expect(errorOf(() => parseConfig('sources:\n  runs: [\n', 'c.yaml'))).toMatch(/^c\.yaml: invalid YAML: .* at line 3, column 1$/);
    expect(errorOf(() => parseConfig('sources:\n  a: { type: noetl }\n  a: { type: noetl }\n', 'c.yaml'))).toMatch(/^c\.yaml: invalid YAML: Map keys must be unique at line 3/);
  });

  const cases: [string, unknown, string][] = [
    ['not a mapping', ['sources'], '(top level): expected a mapping of keys to values'],
    ['no sources', {}, 'sources: required'],
    ['empty sources', { sources: {} }, 'sources: expected at least one source'],
    ['unknown top-level key', { sources: { a: { type: 'noetl' } }, sauces: 1 }, 'sauces: unknown key'],
    ['unknown source key', { sources: { runs: { ...RUNS, stauts: {} } } }, 'sources.runs.stauts: unknown key'],
    ['unknown type', { sources: { runs: { ...RUNS, type: 'mysql' } } }, 'sources.runs.type: expected "noetl" or "status-table"'],
    ['missing type', { sources: { runs: { table: 'x' } } }, 'sources.runs.type: expected "noetl" or "status-table"'],
    ['missing started_at', { sources: { runs: { ...RUNS, started_at: undefined } } }, 'sources.runs.started_at: required'],
    ['missing id', { sources: { runs: { ...RUNS, id: undefined } } }, 'sources.runs.id: required'],
    ['bad id type', { sources: { runs: { ...RUNS, id: { column: 'run_id', type: 'int' } } } }, 'sources.runs.id.type: expected integer, uuid or text'],
    [
      'injection in a column',
      { sources: { runs: { ...RUNS, status: { ...RUNS.status, column: 'status"; DROP TABLE runs; --' } } } },
      'sources.runs.status.column: expected an SQL identifier (letters, digits, _ and $, not starting with a digit or $; at most 63 bytes)',
    ],
    [
      'table with three parts',
      { sources: { runs: { ...RUNS, table: 'db.public.runs' } } },
      'sources.runs.table: expected a table name, table or schema.table, each part an SQL identifier (letters, digits, _ and $; at most 63 bytes)',
    ],
    [
      'too long an identifier',
      { sources: { runs: { ...RUNS, started_at: 'x'.repeat(64) } } },
      'sources.runs.started_at: expected an SQL identifier (letters, digits, _ and $, not starting with a digit or $; at most 63 bytes)',
    ],
    [
      'a display column that is not a name',
      { sources: { runs: { ...RUNS, display: ['last_phase', 'count(*)'] } } },
      'sources.runs.display[1]: expected an SQL identifier (letters, digits, _ and $, not starting with a digit or $; at most 63 bytes)',
    ],
    [
      'no value to write',
      { sources: { runs: { ...RUNS, status: { column: 'status', running: ['running'] } } } },
      'sources.runs.status: expected failed or cancelled (or both): the value written by fail / cancel',
    ],
    [
      'failed is a running value',
      { sources: { runs: { ...RUNS, status: { column: 'status', running: ['running', 'failed'], failed: 'failed' } } } },
      'sources.runs.status.failed: "failed" is also a running value',
    ],
    [
      'two reason forms',
      { sources: { runs: { ...RUNS, reason: { column: 'errors', append_to: 'notes' } } } },
      'sources.runs.reason: expected exactly one of column, append_to or json_column (with key)',
    ],
    [
      'json_column without key',
      { sources: { runs: { ...RUNS, reason: { json_column: 'error' } } } },
      'sources.runs.reason.key: required with json_column: the JSON key that receives the reason',
    ],
    [
      'reason written over the status',
      { sources: { runs: { ...RUNS, reason: { column: 'status' } } } },
      'sources.runs.reason.column: column "status" is already written as status.column',
    ],
    ['steps without step_id', { sources: { runs: { ...RUNS, steps: { table: 'nodes', execution_id: 'run_id', status: 'status' } } } }, 'sources.runs.steps.step_id: required'],
    [
      'bad schema in a noetl source',
      { sources: { main: { type: 'noetl', schema: 'no-etl' } } },
      'sources.main.schema: expected a schema name (letters, digits, underscore; at most 63)',
    ],
    [
      'bad database_url',
      { sources: { main: { type: 'noetl', database_url: 'mysql://x' } } },
      'sources.main.database_url: expected a database URL (postgres://..., postgresql://... or pglite:...)',
    ],
    ['unknown default_source', { default_source: 'main', sources: { runs: RUNS } }, 'default_source: no source named "main" (sources: runs)'],
    [
      'bad health duration',
      { sources: { runs: RUNS }, health: { stuck_minutes: 'soon' } },
      'health.stuck_minutes: expected a non-negative number of minutes or a duration like 90s, 45m, 2h, 1d; got "soon"',
    ],
    [
      'critical below warning',
      { sources: { runs: RUNS }, health: { warning_long_running: 5, critical_long_running: 2 } },
      'health.critical_long_running: must be at least warning_long_running',
    ],
    ['a weird source name', { sources: { 'my source': RUNS } }, 'sources."my source": invalid source name (letters, digits, _ . -; at most 64)'],
  ];
  it.each(cases)('%s', (_what, value, message) => {
    expect(errorOf(() => parseConfig(json(value), 'noetl-console.config.json'))).toBe(`noetl-console.config.json: ${message}`);
  });

  it('counts the other problems', () => {
    const value = { sources: { runs: { ...RUNS, table: 'a.b.c', started_at: 1, label: '' } } };
    expect(errorOf(() => parseConfig(json(value), 'c.json'))).toMatch(/^c\.json: sources\.runs\.table: .* \(and 2 more problems\)$/);
  });

  it('refuses __proto__ as a source name, in JSON and YAML', () => {
    expect(errorOf(() => parseConfig('{"sources": {"__proto__": {"type": "noetl"}, "a": {"type": "noetl"}}}', 'c.json'))).toBe(
      'c.json: sources.__proto__: invalid source name (letters, digits, _ . -; at most 64)',
    );
    expect(errorOf(() => parseConfig('sources:\n  __proto__: { type: noetl }\n  a: { type: noetl }\n', 'c.yaml'))).toBe(
      'c.yaml: sources.__proto__: invalid source name (letters, digits, _ . -; at most 64)',
    );
  });
});

describe('parsed values', () => {
  it('fills step defaults, reads a single running value as a list, converts health durations to seconds', () => {
    const config = parseConfig(
      `default_source: dag
sources:
  dag:
    type: status-table
    table: orchestrator.dag_runs
    id: { column: execution_id, type: text }
    status: { column: status, running: running, cancelled: cancelled }
    started_at: started_at
    reason: { json_column: error, key: message }
    steps: { table: dag_nodes, execution_id: execution_id, step_id: node_id, status: status }
  main: { type: noetl }
health:
  stuck_minutes: 2h
  long_running_minutes: 90
  warning_long_running: 5
  critical_long_running: 20
`,
      'c.yaml',
    );
    const dag = config.sources.dag!;
    expect(dag.type).toBe('status-table');
    if (dag.type !== 'status-table') return;
    expect(dag.status.running).toEqual(['running']);
    expect(dag.steps).toMatchObject({
      done: ['completed', 'success', 'succeeded', 'skipped'],
      running: ['running', 'in_progress', 'pending', 'queued', 'started'],
      noun: 'step',
    });
    expect(config.health).toEqual({ stuck_seconds: 7200, long_running_seconds: 5400, warning_long_running: 5, critical_long_running: 20 });
  });
});

describe('picking a source', () => {
  const loaded = (value: unknown): LoadedConfig => ({ file: 'c.yaml', path: '/x/c.yaml', config: parseConfig(json(value), 'c.json') });
  const two = loaded({ sources: { runs: RUNS, main: { type: 'noetl', schema: 'noetl' } } });

  it('without a config file: NoETL, unless another source is asked for', () => {
    expect(selectSource(null)).toEqual({ name: 'noetl', file: null, config: { type: 'noetl' } });
    expect(selectSource(null, 'noetl').name).toBe('noetl');
    expect(errorOf(() => selectSource(null, 'runs'))).toMatch(/^--source "runs": no config file \(looked for --config, noetl-console\.config\.json/);
  });

  it('--source NAME, else default_source, else the only one', () => {
    expect(selectSource(two, 'main')).toEqual({ name: 'main', file: 'c.yaml', config: { type: 'noetl', schema: 'noetl' } });
    expect(selectSource(loaded({ default_source: 'main', sources: { runs: RUNS, main: { type: 'noetl' } } })).name).toBe('main');
    expect(selectSource(loaded({ sources: { runs: RUNS } })).name).toBe('runs');
  });

  it('errors list the names', () => {
    expect(errorOf(() => selectSource(two, 'jobs'))).toBe('--source "jobs": no such source in c.yaml (sources: runs, main)');
    expect(errorOf(() => selectSource(two))).toBe('c.yaml declares several sources (runs, main): pick one with --source NAME, or set default_source');
    expect(errorOf(() => selectSource(two, 'toString'))).toBe('--source "toString": no such source in c.yaml (sources: runs, main)');
  });
});
