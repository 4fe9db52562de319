/**
 * Which source a command reads, decided before connecting: the config file
 * (--config, a file in the working directory, NOETL_CONSOLE_CONFIG) and
 * --source, or NoETL from flags and environment when there is no config.
 */
import { loadConfig, selectSource, type HealthConfig, type NoetlSourceConfig, type SelectedSource } from './config-file.js';
import { resolveConnection, type ConnectionOptions, type RawConnectionFlags } from './config.js';
import type { Database } from './db/database.js';
import { parseDuration } from './duration.js';
import { UsageError, registerSecret } from './errors.js';
import { DEFAULT_SERVER_TIMEOUT_MS, parseEngineChoice, parseServerUrl, type EngineChoice, type ServerConfig } from './noetl/api.js';
import { parseExecutionId } from './noetl/ids.js';
import { NoetlSource } from './noetl/source.js';
import type { ExecutionSource } from './source.js';
import { parseRowId } from './status-table/ids.js';
import { StatusTableSource } from './status-table/source.js';

export interface SourceFlags extends RawConnectionFlags {
  config?: string;
  source?: string;
  /** The closing commands' server flags (commands/context.ts, addServerOptions). */
  server?: string;
  serverEngine?: string;
  serverTimeout?: string;
  direct?: boolean;
}

export interface ResolvedSource {
  name: string;
  kind: ExecutionSource['kind'];
  connection: ConnectionOptions;
  /** Validate an operator's id for this source (UsageError, exit 2). */
  parseId(raw: string): string;
  open(db: Database): ExecutionSource;
  /** Thresholds from the config file, when it has them. */
  health: HealthConfig | undefined;
  /**
   * The NoETL server to close through, validated (UsageError, exit 2); null
   * without one or with --direct. Closing commands call it before connecting;
   * open() then hands it to the source.
   */
  server(): ServerConfig | null;
}

export function resolveSource(flags: SourceFlags, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ResolvedSource {
  const loaded = loadConfig({ configPath: flags.config, cwd, env });
  const selected = selectSource(loaded, flags.source);
  const cfg = selected.config;
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
      kind: 'status-table',
      connection,
      parseId: (raw) => parseRowId(cfg.id.type, raw),
      open: (db) => new StatusTableSource(db, selected.name, cfg, selected.file),
      health,
    };
  }
  let server: ServerConfig | null | undefined;
  return {
    name: selected.name,
    kind: 'noetl',
    connection,
    parseId: parseExecutionId,
    server: () => (server === undefined ? (server = resolveServer(flags, selected, env)) : server),
    open: (db) => new NoetlSource(db, connection.schema, selected.name, server ?? null),
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
    flags.serverTimeout !== undefined
      ? Math.round(parseDuration('--server-timeout', flags.serverTimeout, 's', { min: 0.1, max: 600 }) * 1000)
      : DEFAULT_SERVER_TIMEOUT_MS;
  return { ...url, engine, token, timeoutMs };
}
