import { createHash } from 'node:crypto';
import type { NoetlStore } from './store.js';
import { tableStatistics, type TableStatistics } from './statistics.js';
import {
  attachIndexSql,
  createIndexSql,
  dropIndexSql,
  eventIndexesSql,
  eventTreeSql,
  eventTypesSeenSql,
  qualifiedName,
  recommendedIndexes,
  reindexSql,
  relationNamesSql,
  type RecommendedIndex,
} from './sql.js';

/** The start event each engine writes: which engines' executions a database holds. */
export const ENGINE_STARTS = { python: 'playbook.initialized', rust: 'playbook_started' } as const;
export type Engine = keyof typeof ENGINE_STARTS;

/**
 * ok: a valid index; missing: none; invalid: only an invalid leftover of a
 * failed CONCURRENTLY build; incomplete: a partitioned index that is not
 * valid yet (some partition has no valid index attached).
 */
export type IndexStatus = 'ok' | 'missing' | 'invalid' | 'incomplete';

/**
 * Statements run in phases: parent indexes (ON ONLY, instant), builds of
 * each table's index (CONCURRENTLY, long, writes go on), then attaches
 * (short), so that the short steps can run under a lock timeout.
 */
export type Phase = 'parent' | 'build' | 'attach';
export interface Step {
  phase: Phase;
  sql: string;
}

export interface PartitionIndex {
  /** The partition (a leaf table), qualified. */
  partition: string;
  /** Its index attached under the parent's, or null. */
  index: string | null;
  valid: boolean;
}

export interface IndexCheck {
  name: string;
  /** Valid on the event table (for a partitioned table: on the parent, hence on every partition). */
  present: boolean;
  status: IndexStatus;
  /** The matching index found on the event table, if any. */
  existing: string | null;
  detail: string | null;
  why: string;
  /** What to run for this index alone, in order. */
  steps: Step[];
  /** Partitioned table: the index of each partition under `existing`. */
  partitions: PartitionIndex[] | null;
}

export interface EventTable {
  name: string;
  partitioned: boolean;
  /** Leaf partitions, qualified. */
  partitions: string[];
  /** What doctor cannot index (foreign partitions, a view...). */
  notHandled: string[];
}

export interface DoctorReport {
  table: EventTable;
  engines: Engine[];
  indexes: IndexCheck[];
  /** The event partitions and projection table, and whether their planner statistics are stale (src/noetl/statistics.ts). */
  statistics: TableStatistics[];
}

interface Rel {
  oid: string;
  schema: string;
  name: string;
  kind: string;
  parent: string | null;
  level: number;
}

interface Ix {
  oid: string;
  schema: string;
  name: string;
  table_oid: string;
  valid: boolean;
  method: string;
  predicate: string | null;
  keys: string[];
  include: string[];
  parent: string | null;
}

/** PostgreSQL keeps 63 bytes of a name (NAMEDATALEN - 1) and cuts the rest. */
export const MAX_NAME_BYTES = 63;

/**
 * A name that fits in 63 bytes. A longer one is cut (at a character
 * boundary) and ends with a hash of the whole name, so two long names with a
 * common prefix stay distinct and the same input always gives the same name.
 */
export function fitName(name: string): string {
  if (Buffer.byteLength(name) <= MAX_NAME_BYTES) return name;
  const suffix = `_${createHash('sha256').update(name).digest('hex').slice(0, 8)}`;
  let head = '';
  for (const ch of name) {
    if (Buffer.byteLength(head + ch) + suffix.length > MAX_NAME_BYTES) break;
    head += ch;
  }
  return head + suffix;
}

/** Relation names per schema: a new index takes a free one. */
class Names {
  private readonly taken = new Set<string>();
  constructor(rows: { schema: string; name: string }[]) {
    for (const r of rows) this.taken.add(this.key(r.schema, r.name));
  }
  private key(schema: string, name: string): string {
    return `${schema}\u0000${name}`;
  }
  release(schema: string, name: string): void {
    this.taken.delete(this.key(schema, name));
  }
  claim(schema: string, base: string): string {
    for (let n = 1; ; n++) {
      const name = fitName(n === 1 ? base : `${base}_${n}`);
      if (!this.taken.has(this.key(schema, name))) {
        this.taken.add(this.key(schema, name));
        return name;
      }
    }
  }
}

/** Whether an existing index serves a recommendation: same keys, at least its INCLUDE columns, the same kind of WHERE. */
export function serves(r: RecommendedIndex, ix: Pick<Ix, 'method' | 'keys' | 'include' | 'predicate'>): boolean {
  if (ix.method !== 'btree') return false;
  if (ix.keys.length !== r.keys.length || ix.keys.some((k, i) => k !== r.keys[i])) return false;
  if (!r.include.every((c) => ix.include.includes(c))) return false;
  if (r.predicateTypes.length === 0) return ix.predicate === null;
  const p = ix.predicate;
  return p !== null && /\bevent_type\b/.test(p) && r.predicateTypes.every((t) => p.includes(`'${t.replace(/'/g, "''")}'`));
}

/**
 * Which of the indexes that keep the console cheap the database has, valid,
 * and the statements that would add the rest. It only reports: creating an
 * index on a busy event table is the operator's call, so the statements are
 * printed, never run.
 */
export async function diagnose(store: NoetlStore): Promise<DoctorReport> {
  await store.capabilities();
  const db = store.db;
  const tree = (await db.query<Rel>(eventTreeSql(), [store.schema])).rows;
  const engineTypes = Object.values(ENGINE_STARTS);
  const seen = (await db.query<Record<string, boolean>>(eventTypesSeenSql(store.schema, engineTypes), [])).rows[0] ?? {};
  const engines = (Object.keys(ENGINE_STARTS) as Engine[]).filter((_, i) => seen[String(i)] === true);
  const root = tree.find((t) => t.level === 0);
  const table: EventTable = {
    name: qualifiedName(store.schema, 'event'),
    partitioned: root?.kind === 'p',
    partitions: tree.filter((t) => t.level > 0 && t.kind !== 'p').map((t) => qualifiedName(t.schema, t.name)),
    notHandled: [],
  };
  if (!root || (root.kind !== 'r' && root.kind !== 'p')) {
    table.notHandled.push(`${table.name} is not a table: doctor cannot index it`);
    return { table, engines, indexes: [], statistics: [] };
  }
  for (const t of tree) {
    if (t.kind === 'f') table.notHandled.push(`${qualifiedName(t.schema, t.name)} is a foreign table: PostgreSQL cannot index it, so no index on ${table.name} can become valid`);
  }
  const indexes = (await db.query<Ix>(eventIndexesSql(), [tree.map((t) => t.oid)])).rows;
  const names = new Names((await db.query<{ schema: string; name: string }>(relationNamesSql(), [[...new Set(tree.map((t) => t.schema))]])).rows);
  const checks = recommendedIndexes().map((r) => (root.kind === 'p' ? planPartitioned(r, root, tree, indexes, names) : planPlain(r, root, indexes, names)));
  return { table, engines, indexes: checks, statistics: await tableStatistics(store) };
}

function check(r: RecommendedIndex, fields: Pick<IndexCheck, 'status' | 'existing' | 'detail' | 'steps' | 'partitions'>): IndexCheck {
  return { name: r.name, present: fields.status === 'ok', why: r.why, ...fields };
}

function planPlain(r: RecommendedIndex, root: Rel, indexes: Ix[], names: Names): IndexCheck {
  const matching = indexes.filter((ix) => ix.table_oid === root.oid && serves(r, ix));
  const valid = matching.find((ix) => ix.valid);
  if (valid) return check(r, { status: 'ok', existing: valid.name, detail: null, steps: [], partitions: null });
  const steps: Step[] = [];
  for (const ix of matching) {
    steps.push({ phase: 'build', sql: dropIndexSql(qualifiedName(ix.schema, ix.name)) });
    names.release(ix.schema, ix.name);
  }
  const name = names.claim(root.schema, r.index);
  steps.push({ phase: 'build', sql: createIndexSql(r, name, qualifiedName(root.schema, root.name), 'concurrently') });
  const leftover = matching[0];
  return leftover
    ? check(r, {
        status: 'invalid',
        existing: leftover.name,
        detail: `${leftover.name} is invalid (left by a failed CONCURRENTLY build): drop it and build it again`,
        steps,
        partitions: null,
      })
    : check(r, { status: 'missing', existing: null, detail: null, steps, partitions: null });
}

/**
 * A partitioned event table: the parent's index ON ONLY (instant), each
 * partition's built CONCURRENTLY, then attached; sub-partitioned partitions
 * get their own ON ONLY index in between. Whatever already exists is kept:
 * an attached valid index, an unattached valid one (attached), an invalid
 * one (dropped and built again, or rebuilt in place when attached).
 */
function planPartitioned(r: RecommendedIndex, root: Rel, tree: Rel[], indexes: Ix[], names: Names): IndexCheck {
  const children = (oid: string) => tree.filter((t) => t.parent === oid);
  const attachedUnder = (parentIx: string, table: Rel) => indexes.find((ix) => ix.table_oid === table.oid && ix.parent === parentIx);
  const leaves = tree.filter((t) => t.level > 0 && t.kind === 'r');

  /** The index of each leaf under `ix`, following attached indexes down. */
  const leafIndexes = (ix: Ix | null): PartitionIndex[] => {
    const out: PartitionIndex[] = [];
    const walk = (table: Rel, tix: Ix | null) => {
      for (const c of children(table.oid)) {
        const cix = tix ? (attachedUnder(tix.oid, c) ?? null) : null;
        if (c.kind === 'p') walk(c, cix);
        else if (c.kind === 'r') out.push({ partition: qualifiedName(c.schema, c.name), index: cix ? qualifiedName(cix.schema, cix.name) : null, valid: cix?.valid ?? false });
      }
    };
    walk(root, ix);
    return out;
  };

  const matching = indexes.filter((ix) => ix.table_oid === root.oid && serves(r, ix));
  const valid = matching.find((ix) => ix.valid);
  if (valid) return check(r, { status: 'ok', existing: valid.name, detail: null, steps: [], partitions: leafIndexes(valid) });

  // The most complete leftover, if any, is finished rather than started over.
  const done = (ix: Ix) => leafIndexes(ix).filter((p) => p.valid).length;
  const chosen = [...matching].sort((a, b) => done(b) - done(a) || Number(b.name === r.index) - Number(a.name === r.index))[0] ?? null;
  const steps: Step[] = [];
  let rootIndex: string;
  let rootName: string;
  if (chosen) {
    rootName = chosen.name;
    rootIndex = qualifiedName(chosen.schema, chosen.name);
  } else {
    rootName = names.claim(root.schema, r.index);
    rootIndex = qualifiedName(root.schema, rootName);
    steps.push({ phase: 'parent', sql: createIndexSql(r, rootName, qualifiedName(root.schema, root.name), 'only') });
  }

  const visit = (table: Rel, tableIndex: string, tableIx: Ix | null) => {
    for (const c of children(table.oid)) {
      if (c.kind !== 'r' && c.kind !== 'p') continue; // foreign: reported as not handled
      const cTable = qualifiedName(c.schema, c.name);
      const attached = tableIx ? attachedUnder(tableIx.oid, c) : undefined;
      if (attached) {
        if (attached.valid) continue;
        const aName = qualifiedName(attached.schema, attached.name);
        if (c.kind === 'p') visit(c, aName, attached);
        else {
          // Attached while invalid (a failed build, attached anyway): rebuild it in
          // place, then attach it again, which is what marks the parent valid.
          steps.push({ phase: 'build', sql: reindexSql(aName) });
          steps.push({ phase: 'attach', sql: attachIndexSql(tableIndex, aName) });
        }
        continue;
      }
      const free = indexes.filter((ix) => ix.table_oid === c.oid && ix.parent === null && serves(r, ix));
      const reusable = free.find((ix) => ix.valid) ?? (c.kind === 'p' ? free[0] : undefined);
      let cIndex: string;
      if (reusable) {
        cIndex = qualifiedName(reusable.schema, reusable.name);
        if (c.kind === 'p') visit(c, cIndex, reusable);
      } else {
        for (const ix of free) {
          steps.push({ phase: 'build', sql: dropIndexSql(qualifiedName(ix.schema, ix.name)) });
          names.release(ix.schema, ix.name);
        }
        const name = names.claim(c.schema, `${rootName}_${c.name}`);
        cIndex = qualifiedName(c.schema, name);
        if (c.kind === 'p') {
          steps.push({ phase: 'parent', sql: createIndexSql(r, name, cTable, 'only') });
          visit(c, cIndex, null);
        } else steps.push({ phase: 'build', sql: createIndexSql(r, name, cTable, 'concurrently') });
      }
      steps.push({ phase: 'attach', sql: attachIndexSql(tableIndex, cIndex) });
    }
  };
  visit(root, rootIndex, chosen);

  if (!chosen) return check(r, { status: 'missing', existing: null, detail: null, steps, partitions: leafIndexes(null) });
  const partitions = leafIndexes(chosen);
  return check(r, {
    status: 'incomplete',
    existing: chosen.name,
    detail: `${chosen.name} is not valid yet: ${partitions.filter((p) => p.valid).length} of ${leaves.length} partitions have a valid index attached`,
    steps,
    partitions,
  });
}

const PHASES: { phase: Phase; comment: string; lockTimeout: boolean }[] = [
  { phase: 'parent', comment: "Parent indexes, ON ONLY: instant, no rows read; not valid until every partition's index is attached.", lockTimeout: true },
  { phase: 'build', comment: "Each table's index, built CONCURRENTLY: takes a while, writes go on.", lockTimeout: false },
  { phase: 'attach', comment: "Attach each partition's index: instant; attaching the last one makes the parent index valid.", lockTimeout: true },
];

/** The statements of every index, in the order the script runs them. */
export function statementsOf(report: DoctorReport): string[] {
  return [...PHASES.flatMap(({ phase }) => report.indexes.flatMap((c) => c.steps.filter((s) => s.phase === phase).map((s) => s.sql))), ...analyzeStatements(report)];
}

const analyzeStatements = (report: DoctorReport) => report.statistics.filter((t) => t.stale).map((t) => `ANALYZE ${t.table};`);

/**
 * A psql script: one statement a line, each in its own transaction
 * (CONCURRENTLY refuses to run in one). Short steps run under a lock
 * timeout, so that one waiting behind a long transaction fails instead of
 * queueing every writer behind it; builds run without a statement timeout,
 * which would leave an invalid index behind.
 */
export function scriptOf(report: DoctorReport, header: readonly string[]): string[] {
  const lines = header.map((h) => `-- ${h}`.trimEnd());
  if (report.indexes.length === 0) return [...lines, '-- Nothing doctor can do here (see "not handled" above).'];
  if (statementsOf(report).length === 0) return [...lines, '-- Nothing to do: every recommended index is present and valid.'];
  lines.push(
    '-- Run it with psql (add your connection flags): noetl-console doctor --script > doctor.sql; psql -f doctor.sql',
    '-- Each statement runs on its own, outside a transaction. If one fails (a lock timeout,',
    '-- a failed build), psql stops: run doctor again, it prints only what is still missing.',
    '\\set ON_ERROR_STOP on',
    '\\set AUTOCOMMIT on',
    'SET statement_timeout = 0;',
  );
  let timeout = false;
  for (const { phase, comment, lockTimeout } of PHASES) {
    const sqls = report.indexes.flatMap((c) => c.steps.filter((s) => s.phase === phase).map((s) => s.sql));
    if (!sqls.length) continue;
    lines.push(`-- ${comment}`);
    if (lockTimeout !== timeout) lines.push(lockTimeout ? "SET lock_timeout = '5s';" : 'RESET lock_timeout;');
    timeout = lockTimeout;
    lines.push(...sqls);
  }
  if (timeout) lines.push('RESET lock_timeout;');
  const analyze = analyzeStatements(report);
  if (analyze.length) lines.push('-- Statistics changed a lot since the last analyze (a big cleanup?): the planner needs them fresh.', ...analyze);
  return lines;
}

/** "python (playbook.initialized), rust (playbook_started)", or what was looked for. */
export function describeEngines(engines: readonly Engine[]): string {
  if (engines.length === 0) return `none seen (no ${Object.values(ENGINE_STARTS).join(' or ')} event)`;
  return engines.map((e) => `${e} (${ENGINE_STARTS[e]})`).join(', ');
}

const LABEL: Record<IndexStatus, string> = { ok: 'ok        ', missing: 'missing   ', invalid: 'invalid   ', incomplete: 'incomplete' };

/** What doctor found, one line each: the table, the engines, then each index (`label` may colour the status). */
export function reportLines(report: DoctorReport, label: (status: IndexStatus, text: string) => string = (_, text) => text): string[] {
  const t = report.table;
  const shape = t.partitioned ? `partitioned, ${t.partitions.length} partition(s)` : 'not partitioned';
  const lines = [`event table: ${t.name} (${shape})`, `engines: ${describeEngines(report.engines)}`];
  for (const n of t.notHandled) lines.push(`not handled: ${n}`);
  for (const c of report.indexes) {
    lines.push(`${label(c.status, LABEL[c.status])} ${c.name.padEnd(20)} ${c.why}${c.status === 'ok' && c.existing ? ` (${c.existing})` : ''}`);
    if (c.detail) lines.push(`           ${c.detail}`);
  }
  for (const t of report.statistics.filter((x) => x.stale)) {
    lines.push(
      `${label('missing', 'stale     ')} statistics           ${t.table}: ${t.changed_since_analyze} rows changed since its last analyze (${t.last_analyze ?? 'never'}): ANALYZE it`,
    );
  }
  return lines;
}

/** The report for --json: the statements per index, and all of them in script order as `missing`. */
export function reportJson(report: DoctorReport, schema: string) {
  return {
    schema,
    table: { name: report.table.name, partitioned: report.table.partitioned, partitions: report.table.partitions, not_handled: report.table.notHandled },
    engines: report.engines,
    indexes: report.indexes.map((c) => ({
      name: c.name,
      status: c.status,
      present: c.present,
      existing: c.existing,
      detail: c.detail,
      why: c.why,
      statements: c.steps.map((step) => step.sql),
      partitions: c.partitions,
    })),
    statistics: report.statistics,
    missing: statementsOf(report),
  };
}

export const SCRIPT_TITLE = 'noetl-console doctor';
