/**
 * Which source a command reads, decided before connecting: the config file
 * (--config, a file in the working directory, NOETL_CONSOLE_CONFIG) and
 * --source, or NoETL from flags and environment when there is no config.
 */
import { loadConfig, selectSource, type HealthConfig } from './config-file.js';
import { resolveConnection, type ConnectionOptions, type RawConnectionFlags } from './config.js';
import type { Database } from './db/database.js';
import { parseExecutionId } from './noetl/ids.js';
import { NoetlSource } from './noetl/source.js';
import type { ExecutionSource } from './source.js';
import { parseRowId } from './status-table/ids.js';
import { StatusTableSource } from './status-table/source.js';

export interface SourceFlags extends RawConnectionFlags {
  config?: string;
  source?: string;
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
      name: selected.name,
      kind: 'status-table',
      connection,
      parseId: (raw) => parseRowId(cfg.id.type, raw),
      open: (db) => new StatusTableSource(db, selected.name, cfg, selected.file),
      health,
    };
  }
  return {
    name: selected.name,
    kind: 'noetl',
    connection,
    parseId: parseExecutionId,
    open: (db) => new NoetlSource(db, connection.schema, selected.name),
    health,
  };
}
