/**
 * Check a status-table config against the database catalog before first use:
 * the tables and every configured column exist, with types the queries can
 * use. A mismatch is a UsageError naming the config key (and the file).
 */
import type { StatusTableConfig } from '../config-file.js';
import type { Queryable } from '../db/database.js';
import { UsageError } from '../errors.js';
import * as sql from './sql.js';
import type { StepsShape, TableShape, TimeColumn } from './sql.js';

interface CatalogColumn {
  name: string;
  type: string;
  base_type: string;
  category: string;
  typtype: string;
  base_oid: string;
}

interface Relation {
  schema: string;
  name: string;
  oid: string;
  columns: Map<string, CatalogColumn>;
}

const TIME_TYPES: Record<string, boolean> = { 'timestamp with time zone': true, 'timestamp without time zone': false };
const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);
const RELATION_KINDS = new Set(['r', 'p', 'v', 'f']);

/** Where the source came from, for messages: "file: sources.NAME.key: ...". */
export interface SourceOrigin {
  name: string;
  file: string | null;
}

export async function resolveTable(db: Queryable, cfg: StatusTableConfig, origin: SourceOrigin): Promise<TableShape> {
  const fail = (key: string, message: string): never => {
    throw new UsageError(`${origin.file ? `${origin.file}: ` : ''}sources.${origin.name}.${key}: ${message}`);
  };

  const main = await loadRelation(db, cfg.table, 'table', fail);
  const column = (rel: Relation, key: string, name: string): CatalogColumn => {
    const found = rel.columns.get(name);
    if (found) return found;
    const near = [...rel.columns.keys()].find((c) => c.toLowerCase() === name.toLowerCase());
    return fail(key, `column ${JSON.stringify(name)} not found in ${rel.schema}.${rel.name}${near ? ` (did you mean ${JSON.stringify(near)}? names are case-sensitive)` : ''}`);
  };
  const time = (rel: Relation, key: string, name: string): TimeColumn => {
    const c = column(rel, key, name);
    const tz = TIME_TYPES[c.base_type];
    if (tz === undefined) fail(key, `column ${JSON.stringify(name)} is ${c.type}; expected timestamp with or without time zone`);
    return { col: sql.quoteIdent(name), tz: tz! };
  };
  const idMatches = (c: CatalogColumn): boolean =>
    cfg.id.type === 'integer' ? INTEGER_TYPES.has(c.base_type) : cfg.id.type === 'uuid' ? c.base_type === 'uuid' : c.category === 'S';
  const ID_HELP = { integer: 'smallint, integer or bigint', uuid: 'uuid', text: 'text or varchar' } as const;

  const id = column(main, 'id.column', cfg.id.column);
  if (!idMatches(id)) fail('id.type', `${cfg.id.type} does not fit column ${JSON.stringify(cfg.id.column)} of type ${id.type} (expected ${ID_HELP[cfg.id.type]})`);

  const status = column(main, 'status.column', cfg.status.column);
  const statusType = await checkStatusValues(db, status, cfg, fail);

  const reasonTarget = (): TableShape['reason'] => {
    const r = cfg.reason;
    if (!r) return null;
    if (r.json_column !== undefined) {
      const c = column(main, 'reason.json_column', r.json_column);
      if (c.base_type !== 'json' && c.base_type !== 'jsonb') fail('reason.json_column', `column ${JSON.stringify(r.json_column)} is ${c.type}; expected json or jsonb`);
      return { kind: 'json', col: sql.quoteIdent(r.json_column), jsonb: c.base_type === 'jsonb', key: r.key! };
    }
    const [key, name, kind] = r.column !== undefined ? (['reason.column', r.column, 'column'] as const) : (['reason.append_to', r.append_to!, 'append'] as const);
    const c = column(main, key, name);
    if (c.category !== 'S') fail(key, `column ${JSON.stringify(name)} is ${c.type}; expected text or varchar`);
    return { kind, col: sql.quoteIdent(name) };
  };

  const shape: TableShape = {
    table: `${sql.quoteIdent(main.schema)}.${sql.quoteIdent(main.name)}`,
    tableName: `${main.schema}.${main.name}`,
    idType: cfg.id.type,
    id: sql.quoteIdent(cfg.id.column),
    status: sql.quoteIdent(cfg.status.column),
    statusType,
    running: cfg.status.running,
    started: time(main, 'started_at', cfg.started_at),
    finished: cfg.finished_at !== undefined ? time(main, 'finished_at', cfg.finished_at) : null,
    updated: cfg.updated_at !== undefined ? time(main, 'updated_at', cfg.updated_at) : null,
    label: cfg.label !== undefined ? sql.quoteIdent(column(main, 'label', cfg.label).name) : null,
    display: (cfg.display ?? []).map((name, i) => ({ name, col: sql.quoteIdent(column(main, `display[${i}]`, name).name) })),
    reason: reasonTarget(),
    steps: null,
  };

  if (cfg.steps) {
    const st = cfg.steps;
    const rel = await loadRelation(db, st.table, 'steps.table', fail);
    const exec = column(rel, 'steps.execution_id', st.execution_id);
    if (!idMatches(exec)) {
      fail('steps.execution_id', `column ${JSON.stringify(st.execution_id)} is ${exec.type}, which does not match id.type ${cfg.id.type}`);
    }
    column(rel, 'steps.step_id', st.step_id);
    column(rel, 'steps.status', st.status);
    if (st.error !== undefined) column(rel, 'steps.error', st.error);
    if (st.attempts !== undefined && !INTEGER_TYPES.has(column(rel, 'steps.attempts', st.attempts).base_type)) {
      fail('steps.attempts', `column ${JSON.stringify(st.attempts)} is not an integer column`);
    }
    const steps: StepsShape = {
      table: `${sql.quoteIdent(rel.schema)}.${sql.quoteIdent(rel.name)}`,
      executionId: sql.quoteIdent(st.execution_id),
      stepId: sql.quoteIdent(st.step_id),
      status: sql.quoteIdent(st.status),
      started: st.started_at !== undefined ? time(rel, 'steps.started_at', st.started_at) : null,
      finished: st.finished_at !== undefined ? time(rel, 'steps.finished_at', st.finished_at) : null,
      attempts: st.attempts !== undefined ? sql.quoteIdent(st.attempts) : null,
      error: st.error !== undefined ? sql.quoteIdent(st.error) : null,
      done: st.done,
      running: st.running,
    };
    try {
      await db.query(sql.stepsJoinProbeSql(shape, steps));
    } catch (error) {
      fail('steps.execution_id', `cannot join ${rel.schema}.${rel.name}.${st.execution_id} to id ${cfg.id.column}: ${(error as Error).message}`);
    }
    shape.steps = steps;
  }
  return shape;
}

async function loadRelation(db: Queryable, configured: string, key: string, fail: (key: string, message: string) => never): Promise<Relation> {
  const parts = configured.split('.');
  const quoted = parts.map(sql.quoteIdent).join('.');
  const { rows } = await db.query<{ schema: string; name: string; kind: string; oid: string }>(sql.relationSql(), [quoted]);
  const rel = rows[0];
  if (!rel) {
    const [schema, name] = parts.length === 2 ? parts : [null, parts[0]!];
    const { rows: near } = await db.query<{ schema: string; name: string }>(sql.similarRelationsSql(), [schema, name]);
    const hint = near.length ? ` (did you mean ${near.map((n) => JSON.stringify(`${n.schema}.${n.name}`)).join(' or ')}? names are case-sensitive)` : '';
    return fail(key, `table ${JSON.stringify(configured)} not found${parts.length === 1 ? ' on the search_path' : ''}${hint}`);
  }
  if (!RELATION_KINDS.has(rel.kind)) fail(key, `${JSON.stringify(configured)} is not a table or view`);
  const { rows: columns } = await db.query<CatalogColumn>(sql.columnsSql(), [rel.oid]);
  return { schema: rel.schema, name: rel.name, oid: rel.oid, columns: new Map(columns.map((c) => [c.name, c])) };
}

/**
 * The SQL type status values are cast to: text for string columns (compared
 * as text), the enum itself for enums (so the index applies), after checking
 * every configured value is one of its labels; integer columns take
 * integer-looking values.
 */
async function checkStatusValues(db: Queryable, status: CatalogColumn, cfg: StatusTableConfig, fail: (key: string, message: string) => never): Promise<string> {
  const keyed: [string, readonly string[]][] = [
    ['status.running', cfg.status.running],
    ['status.failed', cfg.status.failed !== undefined ? [cfg.status.failed] : []],
    ['status.cancelled', cfg.status.cancelled !== undefined ? [cfg.status.cancelled] : []],
    ['status.completed', cfg.status.completed ?? []],
  ];
  if (status.category === 'S') return 'text';
  if (status.typtype === 'e') {
    const { rows } = await db.query<{ label: string }>(sql.enumLabelsSql(), [status.base_oid]);
    const labels = rows.map((r) => r.label);
    for (const [key, values] of keyed) {
      const bad = values.find((v) => !labels.includes(v));
      if (bad !== undefined) fail(key, `${JSON.stringify(bad)} is not a value of ${status.type} (values: ${labels.join(', ')})`);
    }
    return status.type;
  }
  if (INTEGER_TYPES.has(status.base_type)) {
    for (const [key, values] of keyed) {
      const bad = values.find((v) => !/^-?\d{1,18}$/.test(v));
      if (bad !== undefined) fail(key, `${JSON.stringify(bad)} is not an integer, and column ${JSON.stringify(cfg.status.column)} is ${status.type}`);
    }
    return status.base_type;
  }
  return fail('status.column', `column ${JSON.stringify(cfg.status.column)} is ${status.type}; expected text, varchar, an enum or an integer`);
}
