/**
 * Which source a command reads, decided before connecting: the config file
 * (--config, a file in the working directory, NOETL_CONSOLE_CONFIG) and
 * --source, or NoETL from flags and environment when there is no config.
 */
import type { PolicyRuleConfig, ThresholdsConfig } from './config-file.js';
import {
  listContexts,
  loadConfig,
  selectContext,
  selectSource,
  type ContextChoice,
  type HealthConfig,
  type NoetlSourceConfig,
  type SelectedContext,
  type SelectedSource,
} from './config-file.js';
import { parseNoetlDsn, parseNoetlShards } from './config-shards.js';
import { parseDatabaseUrl, resolveConnection, type ConnectionOptions, type ConnectionTarget, type RawConnectionFlags } from './config.js';
import type { Database } from './db/database.js';
import { parseDuration } from './duration.js';
import { UsageError, registerSecret } from './errors.js';
import { DEFAULT_SERVER_TIMEOUT_MS, parseEngineChoice, parseServerUrl, type EngineChoice, type ServerConfig } from './noetl/api.js';
import { parseExecutionId } from './core/ids.js';
import { ShardedNoetlSource } from './noetl/sharded.js';
import { NoetlSource } from './noetl/source.js';
import type { ExecutionSource } from './source.js';
import { parseRowId } from './status-table/ids.js';
import { StatusTableSource } from './status-table/source.js';

export interface SourceFlags extends RawConnectionFlags {
  config?: string;
  source?: string;
  context?: string;
  /** The closing commands' server flags (commands/context.ts, addServerOptions). */
  server?: string;
  serverEngine?: string;
  serverTimeout?: string;
  direct?: boolean;
}

export interface ResolvedSource {
  name: string;
  /** The config file's context in effect (--context, default_context), or null. */
  context: SelectedContext | null;
  /** Every context of the config file (the console's picker). */
  contexts: readonly ContextChoice[];
  /**
   * The same flags with --context NAME instead (the console's switch). The
   * first source's --source, --database-url and --schema are not carried over:
   * a context reads its own source, never the database the others named.
   */
  forContext(name: string): ResolvedSource;
  /** A sharded NoETL source: each shard's host:port/db in NoETL's order (connection is the cluster database). */
  shards: string[] | null;
  kind: ExecutionSource['kind'];
  connection: ConnectionOptions;
  /** Validate an operator's id for this source (UsageError, exit 2). */
  parseId(raw: string): string;
  open(db: Database): ExecutionSource;
  /** Thresholds from the config file, when it has them. */
  health: HealthConfig | undefined;
  /** The config file's max_affected: the default of --max-affected. */
  maxAffected?: number;
  /** The config file's policies and thresholds sections (src/policy.ts, src/thresholds.ts). */
  policies?: readonly PolicyRuleConfig[];
  thresholds?: ThresholdsConfig;
  /**
   * The NoETL server to close through, validated (UsageError, exit 2); null
   * without one or with --direct. Closing commands call it before connecting;
   * open() then hands it to the source.
   */
  server(): ServerConfig | null;
}

export function resolveSource(flags: SourceFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ResolvedSource {
  const loaded = loadConfig({ configPath: flags.config, cwd, env });
  const context = selectContext(loaded, flags.context, flags.source);
  const given = flags;
  const contexts = listContexts(loaded);
  const forContext = (name: string) => resolveSource({ ...given, context: name, source: undefined, databaseUrl: undefined, schema: undefined }, env, cwd);
  const selected = selectSource(loaded, context?.source ?? flags.source);
  const cfg = selected.config;
  // A read-only context is read-only like --read-only: the session refuses writes.
  if (context?.readOnly) flags = { ...flags, readOnly: true };
  const judging = { policies: loaded?.config.policies, thresholds: loaded?.config.thresholds };
  if (cfg.type === 'noetl' && (cfg.shards !== undefined || cfg.shards_env !== undefined))
    return { ...resolveSharded(flags, selected, cfg, context, env, loaded?.config.health), maxAffected: loaded?.config.max_affected, contexts, forContext, ...judging };
  // --database-url wins over the source's database_url, which wins over the environment.
  const fromConfig = flags.databaseUrl === undefined && cfg.database_url !== undefined;
  const connection = resolveConnection(
    {
      ...flags,
      databaseUrl: flags.databaseUrl ?? cfg.database_url,
      databaseUrlFrom: fromConfig ? `${selected.file}: sources.${selected.name}.database_url` : undefined,
      schema: flags.schema ?? (cfg.type === 'noetl' ? cfg.schema : undefined),
    },
    env,
  );
  const health = loaded?.config.health;
  if (cfg.type === 'status-table') {
    return {
      server: () => {
        if (flags.server !== undefined) throw new UsageError(`--server: source ${selected.name} is a status table; only a NoETL source closes through a server`);
        return null;
      },
      name: selected.name,
      context,
      contexts,
      forContext,
      shards: null,
      kind: 'status-table',
      connection,
      parseId: (raw) => parseRowId(cfg.id.type, raw),
      open: (db) => new StatusTableSource(db, selected.name, cfg, selected.file),
      health,
      maxAffected: loaded?.config.max_affected,
      ...judging,
    };
  }
  let server: ServerConfig | null | undefined;
  return {
    name: selected.name,
    context,
    contexts,
    forContext,
    shards: null,
    kind: 'noetl',
    connection,
    parseId: parseExecutionId,
    server: () => (server === undefined ? (server = resolveServer(flags, selected, env)) : server),
    open: (db) => new NoetlSource(db, connection.schema, selected.name, server ?? null),
    health,
    maxAffected: loaded?.config.max_affected,
    ...judging,
  };
}

/**
 * A sharded NoETL cluster: the shards from the file's URLs or from NoETL's
 * own NOETL_SHARDS format in the named variable; the cluster database from
 * cluster_url or cluster_env, else shard 0 (as NoETL does).
 */
function resolveSharded(
  flags: SourceFlags,
  selected: SelectedSource,
  cfg: NoetlSourceConfig,
  context: SelectedContext | null,
  env: NodeJS.ProcessEnv,
  health: HealthConfig | undefined,
): Omit<ResolvedSource, 'contexts' | 'forContext'> {
  const where = `${selected.file}: sources.${selected.name}`;
  if (flags.databaseUrl !== undefined) throw new UsageError(`--database-url: source ${selected.name} is sharded; its shards and cluster_url are in ${selected.file}`);
  if (flags.server !== undefined) throw new UsageError(`--server: source ${selected.name} is sharded; the console writes each shard directly`);
  let shards: ConnectionTarget[];
  if (cfg.shards !== undefined) {
    shards = cfg.shards.map((url, i) => parseDatabaseUrl(url, `${where}.shards[${i}]`));
  } else {
    const name = cfg.shards_env!;
    shards = parseNoetlShards(env[name] ?? '', name);
    if (shards.length === 0)
      throw new UsageError(
        `${name}: ${env[name] === undefined ? 'not set' : 'empty'} (named by ${where}.shards_env; NoETL's list host=..;port=..;user=..;password=..;database=.., comma-separated)`,
      );
  }
  const clusterEnv = cfg.cluster_env !== undefined ? nonEmpty(env[cfg.cluster_env]) : undefined;
  const cluster =
    cfg.cluster_url !== undefined ? parseDatabaseUrl(cfg.cluster_url, `${where}.cluster_url`) : clusterEnv !== undefined ? parseNoetlDsn(clusterEnv, cfg.cluster_env!) : null;
  const base = resolveConnection({ ...flags, databaseUrl: undefined, schema: flags.schema ?? cfg.schema }, env);
  const connection: ConnectionOptions = { ...base, target: cluster ?? shards[0]! };
  return {
    name: selected.name,
    context,
    shards: shards.map((t) => t.label),
    kind: 'noetl',
    connection,
    parseId: parseExecutionId,
    // --server is refused above.
    server: () => null,
    open: (db) =>
      new ShardedNoetlSource(
        db,
        connection.schema,
        selected.name,
        // Without a cluster database, shard 0 is it (one connection for both).
        shards.map((target, i) => (cluster === null && i === 0 ? null : { ...connection, target })),
      ),
    health,
  };
}

const nonEmpty = (v: string | undefined) => (v === undefined || v.trim() === '' ? undefined : v);

/** --server, else the source's server_url, else NOETL_SERVER_URL; the token only from NOETL_SERVER_TOKEN. */
export function resolveServer(flags: SourceFlags, selected: SelectedSource, env: NodeJS.ProcessEnv): ServerConfig | null {
  const cfg: Partial<NoetlSourceConfig> = selected.config.type === 'noetl' ? selected.config : {};
  const where = `${selected.file}: sources.${selected.name}`;
  if (flags.direct) {
    if (flags.server !== undefined) throw new UsageError('--server and --direct: give one (--direct writes to the database)');
    return null;
  }
  const [raw, from] =
    flags.server !== undefined
      ? [flags.server, '--server']
      : cfg.server_url !== undefined
        ? [cfg.server_url, `${where}.server_url`]
        : nonEmpty(env.NOETL_SERVER_URL) !== undefined
          ? [env.NOETL_SERVER_URL!, 'NOETL_SERVER_URL']
          : [undefined, ''];
  if (raw === undefined) return null;
  const url = parseServerUrl(raw, from);
  let engine: EngineChoice = 'auto';
  if (flags.serverEngine !== undefined) engine = parseEngineChoice(flags.serverEngine, '--server-engine');
  else if (cfg.server_engine !== undefined) engine = cfg.server_engine;
  else if (nonEmpty(env.NOETL_SERVER_ENGINE) !== undefined) engine = parseEngineChoice(env.NOETL_SERVER_ENGINE!, 'NOETL_SERVER_ENGINE');
  const token = nonEmpty(env.NOETL_SERVER_TOKEN) ?? null;
  if (token !== null) {
    registerSecret(token);
    // Never echoed, not even in this message: a header cannot carry these.
    if (/[^\x21-\x7e]/.test(token)) throw new UsageError('NOETL_SERVER_TOKEN: contains spaces or characters a header cannot carry');
  }
  const timeoutMs =
    flags.serverTimeout !== undefined ? Math.round(parseDuration('--server-timeout', flags.serverTimeout, 's', { min: 0.1, max: 600 }) * 1000) : DEFAULT_SERVER_TIMEOUT_MS;
  return { ...url, engine, token, timeoutMs };
}
