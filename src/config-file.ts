/**
 * The optional config file: named sources (NoETL schemas and status tables)
 * and health thresholds. Format documented in README ("Config file").
 *
 * Found at --config FILE, else noetl-console.config.json / .yaml / .yml in
 * the working directory, else $NOETL_CONSOLE_CONFIG; none is fine (NoETL as
 * before). Every problem is a UsageError naming the file and the key path.
 */
import { readFileSync, statSync } from 'node:fs';
import { extname, isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type YAMLModule from 'yaml';
import * as z from 'zod';
import { SCHEMA_NAME } from './config.js';
import { parseDuration } from './duration.js';
import { UsageError } from './errors.js';
import { safeText } from './sanitize.js';

export const CONFIG_FILE_NAMES = ['noetl-console.config.json', 'noetl-console.config.yaml', 'noetl-console.config.yml'] as const;
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Letters, digits, _ and $ (not first); at most 63 bytes. Always quoted in SQL, so case matters. */
export const SQL_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_$]*$/;
const SOURCE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

function isIdentifier(value: string): boolean {
  return SQL_IDENTIFIER.test(value) && Buffer.byteLength(value) <= 63;
}

const IDENT_HELP = 'expected an SQL identifier (letters, digits, _ and $, not starting with a digit or $; at most 63 bytes)';

const identifier = () => z.string({ error: IDENT_HELP }).refine(isIdentifier, { error: IDENT_HELP });

const tableName = () =>
  z.string({ error: 'expected a table name, table or schema.table' }).refine(
    (v) => {
      const parts = v.split('.');
      return parts.length <= 2 && parts.every(isIdentifier);
    },
    { error: `expected a table name, table or schema.table, each part an SQL identifier (letters, digits, _ and $; at most 63 bytes)` },
  );

const value = () => z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' }).max(200);

const LIST_HELP = 'expected a non-empty list of strings';
/** A list of status values; a single string is read as a list of one. */
const valueList = () =>
  z.preprocess(
    (v) => (typeof v === 'string' ? [v] : v),
    z.array(z.string({ error: LIST_HELP }).min(1, { error: LIST_HELP }).max(200), { error: LIST_HELP }).min(1, { error: LIST_HELP }),
  );

const columnList = () => z.array(identifier(), { error: 'expected a list of column names' }).max(20, { error: 'at most 20 display columns' });

const databaseUrl = () =>
  z
    .string({ error: 'expected a database URL (postgres://..., postgresql://... or pglite:...)' })
    .regex(/^(postgres|postgresql):\/\/|^pglite:/, { error: 'expected a database URL (postgres://..., postgresql://... or pglite:...)' });

const postgresUrl = () =>
  z
    .string({ error: 'expected a database URL (postgres://... or postgresql://...)' })
    .regex(/^(postgres|postgresql):\/\//, { error: 'expected a database URL (postgres://... or postgresql://...)' });

const envName = () =>
  z.string({ error: 'expected the name of an environment variable' }).regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: 'expected the name of an environment variable' });

/** Minutes as a number, or a duration string (90s, 45m, 2h, 1d); stored in seconds. */
const minutes = () =>
  z.union([z.number(), z.string()], { error: 'expected minutes (a number) or a duration like 90s, 45m, 2h, 1d' }).transform((raw, ctx) => {
    try {
      return parseDuration('value', String(raw), 'm');
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message.replace(/^value: /, '') });
      return z.NEVER;
    }
  });

const count = () => z.number({ error: 'expected a whole number' }).int({ error: 'expected a whole number' }).min(0, { error: 'expected a whole number' });

const object = <T extends z.core.$ZodLooseShape>(shape: T) => z.object(shape, { error: objectError }).strict();

function objectError(issue: z.core.$ZodRawIssue): string | undefined {
  return issue.code === 'invalid_type' ? 'expected a mapping of keys to values' : undefined;
}

const NoetlSourceConfig = object({
  type: z.literal('noetl'),
  database_url: databaseUrl().optional(),
  schema: z.string({ error: 'expected a schema name' }).regex(SCHEMA_NAME, { error: 'expected a schema name (letters, digits, underscore; at most 63)' }).optional(),
  /** The NoETL server whose API closes executions (README, "Through the engine's API"). */
  server_url: z
    .string({ error: 'expected the NoETL server URL (http://... or https://...)' })
    .regex(/^https?:\/\//i, { error: 'expected the NoETL server URL (http://... or https://...)' })
    .optional(),
  server_engine: z.enum(['rust', 'python', 'auto'], { error: 'expected rust, python or auto' }).optional(),
  /** A sharded cluster (README, "Sharded clusters"): the shard databases in NoETL's shard order. */
  shards: z.array(postgresUrl(), { error: 'expected a list of postgres:// URLs, in NoETL shard order' }).min(1, { error: 'expected at least one shard' }).optional(),
  /** Or the environment variable holding NoETL's own NOETL_SHARDS list. */
  shards_env: envName().optional(),
  /** The cluster database (catalog, runtime); shard 0 when absent, as in NoETL. */
  cluster_url: postgresUrl().optional(),
  cluster_env: envName().optional(),
}).superRefine((s, ctx) => {
  const sharded = s.shards !== undefined || s.shards_env !== undefined;
  if (s.shards !== undefined && s.shards_env !== undefined) ctx.addIssue({ code: 'custom', path: ['shards_env'], message: 'give shards or shards_env, not both' });
  if (s.cluster_url !== undefined && s.cluster_env !== undefined) ctx.addIssue({ code: 'custom', path: ['cluster_env'], message: 'give cluster_url or cluster_env, not both' });
  for (const key of ['cluster_url', 'cluster_env'] as const) {
    if (!sharded && s[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'only with shards or shards_env' });
  }
  for (const key of ['database_url', 'server_url'] as const) {
    if (sharded && s[key] !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [key],
        message: `not with shards: a sharded source reads and writes each shard itself${key === 'database_url' ? ' (cluster_url names the cluster database)' : ''}`,
      });
  }
});

const StepsConfig = object({
  table: tableName(),
  execution_id: identifier(),
  step_id: identifier(),
  status: identifier(),
  started_at: identifier().optional(),
  finished_at: identifier().optional(),
  attempts: identifier().optional(),
  error: identifier().optional(),
  done: valueList().default(['completed', 'success', 'succeeded', 'skipped']),
  running: valueList().default(['running', 'in_progress', 'pending', 'queued', 'started']),
  /** The word for a step in diagnoses: "stuck in node X". */
  noun: z
    .string({ error: 'expected a word, e.g. step or node' })
    .regex(/^[A-Za-z][A-Za-z _-]{0,19}$/, { error: 'expected a word, e.g. step or node' })
    .default('step'),
});

const ReasonConfig = object({
  column: identifier().optional(),
  append_to: identifier().optional(),
  json_column: identifier().optional(),
  key: z.string({ error: 'expected a JSON key' }).min(1, { error: 'expected a JSON key' }).max(63).optional(),
}).superRefine((r, ctx) => {
  const forms = [r.column, r.append_to, r.json_column].filter((f) => f !== undefined).length;
  if (forms !== 1) {
    ctx.addIssue({ code: 'custom', message: 'expected exactly one of column, append_to or json_column (with key)' });
  } else if (r.json_column !== undefined && r.key === undefined) {
    ctx.addIssue({ code: 'custom', path: ['key'], message: 'required with json_column: the JSON key that receives the reason' });
  } else if (r.json_column === undefined && r.key !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['key'], message: 'only with json_column' });
  }
});

const StatusTableSourceConfig = object({
  type: z.literal('status-table'),
  database_url: databaseUrl().optional(),
  table: tableName(),
  id: object({
    column: identifier(),
    type: z.enum(['integer', 'uuid', 'text'], { error: 'expected integer, uuid or text' }),
  }),
  status: object({
    column: identifier(),
    running: valueList(),
    failed: value().optional(),
    cancelled: value().optional(),
    completed: valueList().optional(),
  }).superRefine((s, ctx) => {
    if (s.failed === undefined && s.cancelled === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected failed or cancelled (or both): the value written by fail / cancel' });
    }
    for (const key of ['failed', 'cancelled'] as const) {
      if (s[key] !== undefined && s.running.includes(s[key])) {
        ctx.addIssue({ code: 'custom', path: [key], message: `${JSON.stringify(s[key])} is also a running value` });
      }
    }
  }),
  started_at: identifier(),
  finished_at: identifier().optional(),
  updated_at: identifier().optional(),
  label: identifier().optional(),
  display: columnList().optional(),
  reason: ReasonConfig.optional(),
  steps: StepsConfig.optional(),
}).superRefine((s, ctx) => {
  // Columns the console writes must be distinct, or one SET would overwrite another.
  const written: [string[], string | undefined][] = [
    [['status', 'column'], s.status.column],
    [['finished_at'], s.finished_at],
    [['reason', 'column'], s.reason?.column],
    [['reason', 'append_to'], s.reason?.append_to],
    [['reason', 'json_column'], s.reason?.json_column],
  ];
  const seen = new Map<string, string>();
  for (const [path, column] of written) {
    if (column === undefined) continue;
    const first = seen.get(column);
    if (first) ctx.addIssue({ code: 'custom', path, message: `column ${JSON.stringify(column)} is already written as ${first}` });
    else seen.set(column, path.join('.'));
  }
});

const SourceConfig = z.discriminatedUnion('type', [NoetlSourceConfig, StatusTableSourceConfig], {
  error: (issue) => (issue.code === 'invalid_union' ? 'expected "noetl" or "status-table"' : undefined),
});

const HealthConfig = object({
  stuck_minutes: minutes().optional(),
  long_running_minutes: minutes().optional(),
  warning_long_running: count().optional(),
  critical_long_running: count().optional(),
})
  .superRefine((h, ctx) => {
    if (h.warning_long_running !== undefined && h.critical_long_running !== undefined && h.critical_long_running < h.warning_long_running) {
      ctx.addIssue({ code: 'custom', path: ['critical_long_running'], message: 'must be at least warning_long_running' });
    }
  })
  .transform((h) => ({
    stuck_seconds: h.stuck_minutes,
    long_running_seconds: h.long_running_minutes,
    warning_long_running: h.warning_long_running,
    critical_long_running: h.critical_long_running,
  }));

/** Learned thresholds (src/thresholds.ts): how far back finished runs count, and how many are needed. */
const ThresholdsConfig = object({
  days: z
    .number({ error: 'expected a number of days from 1 to 365' })
    .int({ error: 'expected a number of days from 1 to 365' })
    .min(1, { error: 'expected a number of days from 1 to 365' })
    .max(365, { error: 'expected a number of days from 1 to 365' })
    .optional(),
  min_history: count().optional(),
  /** How long a read is reused (memory, and the user's cache dir). */
  cache_minutes: minutes().optional(),
});

/** One rule of `policies` (src/policy.ts): the first rule whose match fits an execution judges it. */
const PolicyRule = object({
  name: z.string({ error: 'expected a short name' }).min(1, { error: 'expected a short name' }).max(64, { error: 'at most 64 characters' }).optional(),
  match: z
    .string({ error: 'expected a glob on the playbook path (or label), like etl/* or *' })
    .min(1, { error: 'expected a glob on the playbook path (or label), like etl/* or *' })
    .max(500)
    .default('*'),
  older_than: minutes(),
  idle: minutes().optional(),
  ratio: z.number({ error: 'expected a number of times the p95, like 3' }).positive({ error: 'expected a number of times the p95, like 3' }).optional(),
  min_history: count().optional(),
  action: z.enum(['cancel', 'fail', 'report'], { error: 'expected cancel, fail or report' }),
});

export const CONTEXT_COLOURS = ['red', 'green', 'yellow', 'blue', 'magenta', 'cyan', 'white', 'gray'] as const;

/** A named environment: a source, whether it may be written, and the colour of its label. */
const ContextConfig = object({
  name: z.string({ error: 'expected a context name' }).regex(SOURCE_NAME, { error: 'expected a context name (letters, digits, _ . -; at most 64)' }),
  source: z.string({ error: 'expected a source name' }),
  read_only: z.boolean({ error: 'expected true or false' }).default(false),
  colour: z.enum(CONTEXT_COLOURS, { error: `expected one of ${CONTEXT_COLOURS.join(', ')}` }).optional(),
});

const ConfigSchema = object({
  default_source: z.string({ error: 'expected a source name' }).optional(),
  contexts: z.array(ContextConfig, { error: 'expected a list of contexts (name, source, read_only, colour)' }).optional(),
  default_context: z.string({ error: 'expected a context name' }).optional(),
  sources: z
    .record(z.string(), SourceConfig, { error: (i) => (i.code === 'invalid_type' ? 'expected a mapping of source names to sources' : undefined) })
    .superRefine((sources, ctx) => {
      if (Object.keys(sources).length === 0) ctx.addIssue({ code: 'custom', message: 'expected at least one source' });
    }),
  health: HealthConfig.optional(),
  /** Every write command refuses a batch larger than this (--max-affected overrides it). */
  max_affected: count().optional(),
  thresholds: ThresholdsConfig.optional(),
  policies: z
    .array(PolicyRule, { error: 'expected a list of rules (match, older_than, idle, ratio, min_history, action)' })
    .min(1, { error: 'expected at least one rule' })
    .optional(),
}).superRefine((c, ctx) => {
  if (c.default_source !== undefined && !Object.hasOwn(c.sources, c.default_source)) {
    ctx.addIssue({
      code: 'custom',
      path: ['default_source'],
      message: `no source named ${JSON.stringify(c.default_source)} (sources: ${Object.keys(c.sources).join(', ')})`,
    });
  }
  const names = new Set<string>();
  (c.contexts ?? []).forEach((context, i) => {
    if (names.has(context.name)) ctx.addIssue({ code: 'custom', path: ['contexts', i, 'name'], message: `${JSON.stringify(context.name)} is named twice` });
    names.add(context.name);
    if (!Object.hasOwn(c.sources, context.source)) {
      ctx.addIssue({
        code: 'custom',
        path: ['contexts', i, 'source'],
        message: `no source named ${JSON.stringify(context.source)} (sources: ${Object.keys(c.sources).join(', ')})`,
      });
    }
  });
  if (c.default_context !== undefined && !names.has(c.default_context)) {
    ctx.addIssue({ code: 'custom', path: ['default_context'], message: `no context named ${JSON.stringify(c.default_context)}` });
  }
});

export type Config = z.output<typeof ConfigSchema>;
export type SourceConfig = z.output<typeof SourceConfig>;
export type NoetlSourceConfig = z.output<typeof NoetlSourceConfig>;
export type ContextConfig = z.output<typeof ContextConfig>;
export type StatusTableConfig = z.output<typeof StatusTableSourceConfig>;
export type StepsConfig = z.output<typeof StepsConfig>;
export type ReasonConfig = z.output<typeof ReasonConfig>;
export type PolicyRuleConfig = z.output<typeof PolicyRule>;
export type ThresholdsConfig = z.output<typeof ThresholdsConfig>;
/** Thresholds in seconds (from the *_minutes keys) and counts of long-running executions. */
export type HealthConfig = z.output<typeof HealthConfig>;

export interface LoadedConfig {
  /** The file as named in messages: as given to --config or NOETL_CONSOLE_CONFIG, or the base name found in cwd. */
  file: string;
  /** Absolute path. */
  path: string;
  config: Config;
}

export interface SelectedSource {
  name: string;
  /** Names the config file in messages; null without a config file. */
  file: string | null;
  config: SourceConfig;
}

/** The config file in effect, parsed and validated; null when there is none. */
export function loadConfig(opts: { configPath?: string; cwd: string; env: NodeJS.ProcessEnv }): LoadedConfig | null {
  const located = locate(opts);
  if (!located) return null;
  return { ...located, config: parseConfig(readConfigText(located.file, located.path), located.file, located.path) };
}

function locate({ configPath, cwd, env }: { configPath?: string; cwd: string; env: NodeJS.ProcessEnv }): { file: string; path: string } | null {
  if (configPath !== undefined) {
    if (configPath.trim() === '') throw new UsageError('--config: empty file name');
    return { file: configPath, path: resolve(cwd, configPath) };
  }
  const found = CONFIG_FILE_NAMES.filter((name) => isFile(resolve(cwd, name)));
  if (found.length > 1) {
    throw new UsageError(`${found.join(' and ')} both exist in ${cwd}: keep one, or pick one with --config`);
  }
  if (found[0]) return { file: found[0], path: resolve(cwd, found[0]) };
  const fromEnv = env.NOETL_CONSOLE_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') {
    return { file: fromEnv, path: isAbsolute(fromEnv) ? fromEnv : resolve(cwd, fromEnv) };
  }
  return null;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function readConfigText(file: string, path: string): string {
  const shown = safeText(file, 200);
  let size: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new UsageError(`${shown}: not a regular file`);
    size = stat.size;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: string }).code;
    throw new UsageError(`${shown}: ${code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (error as Error).message}`);
  }
  if (size > MAX_CONFIG_BYTES) throw new UsageError(`${shown}: too large for a config file (${size} bytes)`);
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${shown}: cannot read: ${(error as { code?: string }).code ?? (error as Error).message}`);
  }
}

/** Parse and validate config text; `file` names it in messages, `path`'s extension picks JSON or YAML. */
export function parseConfig(text: string, file: string, path = file): Config {
  const shown = safeText(file, 200);
  let data: unknown;
  if (extname(path).toLowerCase() === '.json') {
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`${shown}: invalid JSON: ${oneLine((error as Error).message)}`);
    }
  } else {
    // YAML 1.2 (core schema), a superset of JSON: any other extension is read as YAML.
    // Loaded only for a YAML file: it is a third of the start-up of every command otherwise.
    const YAML = createRequire(import.meta.url)('yaml') as typeof YAMLModule;
    const doc = YAML.parseDocument(text, { uniqueKeys: true });
    const first = doc.errors[0];
    if (first) {
      // The message ends with " at line L, column C:" and a source excerpt: keep the first line.
      const message = first.message.split('\n')[0]!.replace(/:$/, '');
      throw new UsageError(`${shown}: invalid YAML: ${oneLine(message)}`);
    }
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch (error) {
      throw new UsageError(`${shown}: invalid YAML: ${oneLine((error as Error).message)}`);
    }
  }
  if (data === null || data === undefined) throw new UsageError(`${shown}: empty config (expected a mapping with "sources")`);
  // Before zod builds objects from them: a key like __proto__ must be refused, not assigned.
  const sources = (data as { sources?: unknown }).sources;
  if (typeof sources === 'object' && sources !== null && !Array.isArray(sources)) {
    const bad = Object.keys(sources).find((name) => !SOURCE_NAME.test(name));
    if (bad !== undefined) throw new UsageError(`${shown}: ${formatPath(['sources', bad])}: invalid source name (letters, digits, _ . -; at most 64)`);
  }
  const result = ConfigSchema.safeParse(data, { reportInput: true });
  if (result.success) return result.data;
  const [first, ...rest] = result.error.issues;
  const more = rest.length ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
  throw new UsageError(`${shown}: ${describeIssue(first!)}${more}`);
}

/** "sources.runs.status.running: expected a non-empty list of strings". */
function describeIssue(issue: z.core.$ZodIssue): string {
  let path = [...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    path = [...path, issue.keys[0]!];
    message = `unknown key${
      issue.keys.length > 1
        ? ` (also ${issue.keys
            .slice(1)
            .map((k) => JSON.stringify(k))
            .join(', ')})`
        : ''
    }`;
  } else if ((issue.code === 'invalid_type' || issue.code === 'invalid_union') && issue.input === undefined) {
    message = 'required';
  }
  const where = path.length ? formatPath(path) : '(top level)';
  return `${where}: ${oneLine(message)}`;
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else {
      const key = String(part);
      const plain = /^[A-Za-z0-9_$-]+$/.test(key) ? key : JSON.stringify(key);
      out += out ? `.${plain}` : plain;
    }
  }
  return safeText(out, 200);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The source to use: --source NAME, else default_source, else the only
 * source. Without a config file the source is NoETL (flags and environment
 * as before).
 */
export function selectSource(loaded: LoadedConfig | null, requested?: string): SelectedSource {
  if (!loaded) {
    if (requested === undefined || requested === 'noetl') return { name: 'noetl', file: null, config: { type: 'noetl' } };
    throw new UsageError(
      `--source ${safeText(JSON.stringify(requested), 80)}: no config file (looked for --config, ${CONFIG_FILE_NAMES.join(', ')} in the working directory, NOETL_CONSOLE_CONFIG)`,
    );
  }
  const { sources } = loaded.config;
  const names = Object.keys(sources);
  const file = safeText(loaded.file, 200);
  const pick = (name: string): SelectedSource => ({ name, file: loaded.file, config: sources[name]! });
  if (requested !== undefined) {
    if (Object.hasOwn(sources, requested)) return pick(requested);
    throw new UsageError(`--source ${safeText(JSON.stringify(requested), 80)}: no such source in ${file} (sources: ${names.join(', ')})`);
  }
  if (loaded.config.default_source !== undefined) return pick(loaded.config.default_source);
  if (names.length === 1) return pick(names[0]!);
  throw new UsageError(`${file} declares several sources (${names.join(', ')}): pick one with --source NAME, or set default_source`);
}

/** Where a source reads, without a password and without connecting: `schema noetl`, `2 shard(s) + cluster`. */
export function describeSource(cfg: SourceConfig): { type: string; target: string } {
  if (cfg.type === 'status-table') return { type: 'status-table', target: `table ${cfg.table}` };
  if (cfg.shards !== undefined) return { type: 'noetl (sharded)', target: `${cfg.shards.length} shard(s)${cfg.cluster_url ? ' + cluster' : ''}` };
  if (cfg.shards_env !== undefined) return { type: 'noetl (sharded)', target: `shards from $${cfg.shards_env}${cfg.cluster_env ? `, cluster from $${cfg.cluster_env}` : ''}` };
  return { type: 'noetl', target: `schema ${cfg.schema ?? 'noetl'}` };
}

export interface SelectedContext {
  name: string;
  /** The source it names. */
  source: string;
  /** Writes refused by the session, as with --read-only. */
  readOnly: boolean;
  colour: NonNullable<ContextConfig['colour']> | null;
}

/** A context as the console's picker lists it. */
export interface ContextChoice extends SelectedContext {
  /** Where its source reads: `noetl: schema noetl`. */
  where: string;
}

/** Every context of the config file, in file order; none without a file or contexts. */
export function listContexts(loaded: LoadedConfig | null): ContextChoice[] {
  return (loaded?.config.contexts ?? []).map((c) => {
    const d = describeSource(loaded!.config.sources[c.source]!);
    return { name: c.name, source: c.source, readOnly: c.read_only, colour: c.colour ?? null, where: `${d.type}: ${d.target}` };
  });
}

/**
 * The context in effect: --context NAME, else default_context when no
 * --source is given; null without contexts (the source as before).
 */
export function selectContext(loaded: LoadedConfig | null, requested: string | undefined, source: string | undefined): SelectedContext | null {
  const shown = (name: string) => safeText(JSON.stringify(name), 80);
  if (requested === undefined) {
    const fallback = loaded?.config.default_context;
    if (fallback === undefined || source !== undefined) return null;
    requested = fallback;
  } else {
    if (requested.trim() === '') throw new UsageError('--context: empty name');
    if (source !== undefined) throw new UsageError('--context and --source: give one (a context names its source)');
    if (!loaded)
      throw new UsageError(`--context ${shown(requested)}: no config file (looked for --config, ${CONFIG_FILE_NAMES.join(', ')} in the working directory, NOETL_CONSOLE_CONFIG)`);
  }
  const contexts = loaded!.config.contexts ?? [];
  const found = contexts.find((c) => c.name === requested);
  if (!found) {
    const names = contexts.map((c) => c.name);
    throw new UsageError(
      `--context ${shown(requested)}: no such context in ${safeText(loaded!.file, 200)}${names.length ? ` (contexts: ${names.join(', ')})` : ' (it has no contexts)'}`,
    );
  }
  return { name: found.name, source: found.source, readOnly: found.read_only, colour: found.colour ?? null };
}
