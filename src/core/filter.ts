/**
 * "Stuck under a filter": which running executions a listing returns. Each
 * term is defined once, as a predicate over a row's facts and as the SQL that
 * says the same over a source's columns; the SQL builders of both sources and
 * both live sets use these, so a query and the console's set cannot disagree.
 */

export interface StuckFilter {
  /** Started at least this long ago (seconds); 0 lists every running one. */
  olderThanSeconds: number;
  /** Also require no sign of life for this long (seconds). */
  idleSeconds?: number | null;
  /** Glob on the path (* and ?); without wildcards a substring. Case-insensitive. */
  path?: string | null;
  /** Show children of running parents as their own rows. */
  includeChildren?: boolean;
  limit?: number | null;
}

/** What the terms read from one running execution; times in epoch ms of the database's clock. */
export interface StuckFacts {
  /** Null where the source does not know (a status table's NULL started_at). */
  startedMs: number | null;
  /** The latest sign of life; null where there is none. */
  lastActivityMs: number | null;
  nowMs: number;
  path: string | null;
  /** Its parent still runs (and it is not its own ancestor): it shows under the parent unless children are asked for. */
  childOfRunning: boolean;
}

/** A time of a source's query, with the clock it is compared with. */
export interface SqlTime {
  at: string;
  now: string;
  unit: 'ms' | 'timestamp';
}

/** The same facts as SQL expressions of a source's query. */
export interface StuckColumns {
  started: SqlTime;
  lastActivity: SqlTime;
  path: string;
  /** Null: the source has no child executions. */
  childOfRunning: string | null;
}

/** Adds a parameter, returns its placeholder ($n::cast). */
export type Bind = (value: unknown, cast: string) => string;

export type StuckTermName = 'age' | 'idle' | 'path' | 'children';

interface StuckTerm {
  applies(f: StuckFilter): boolean;
  /** The predicate, prepared once per filter. */
  live(f: StuckFilter): (x: StuckFacts) => boolean;
  sql(f: StuckFilter, c: StuckColumns, bind: Bind): string;
}

const before = (t: SqlTime, seconds: string) => (t.unit === 'ms' ? `${t.at} <= ${t.now} - ${seconds} * 1000` : `${t.at} <= ${t.now} - ${seconds} * interval '1 second'`);

/** In the order a source applies them: age first (it narrows the most, before anything is described). */
export const STUCK_TERMS: Record<StuckTermName, StuckTerm> = {
  age: {
    // A NULL start (age unknown) is listed only when every running one is asked for.
    applies: (f) => f.olderThanSeconds > 0,
    live: (f) => (x) => x.startedMs !== null && x.startedMs <= x.nowMs - f.olderThanSeconds * 1000,
    sql: (f, c, bind) => before(c.started, bind(f.olderThanSeconds, 'float8')),
  },
  idle: {
    applies: (f) => f.idleSeconds != null,
    live: (f) => (x) => x.lastActivityMs !== null && x.lastActivityMs <= x.nowMs - f.idleSeconds! * 1000,
    sql: (f, c, bind) => before(c.lastActivity, bind(f.idleSeconds, 'float8')),
  },
  path: {
    applies: (f) => !!f.path,
    live: (f) => {
      const re = globPattern(f.path!);
      return (x) => x.path !== null && re.test(x.path);
    },
    sql: (f, c, bind) => `${c.path} ILIKE ${bind(likePattern(f.path!), 'text')}`,
  },
  children: {
    applies: (f) => !f.includeChildren,
    live: () => (x) => !x.childOfRunning,
    sql: (_f, c) => (c.childOfRunning === null ? 'true' : `NOT (${c.childOfRunning})`),
  },
};

const NAMES = Object.keys(STUCK_TERMS) as StuckTermName[];

/** The predicate of `filter` over a row's facts (limit aside). */
export function stuckMatcher(filter: StuckFilter): (x: StuckFacts) => boolean {
  const checks = NAMES.filter((n) => STUCK_TERMS[n].applies(filter)).map((n) => STUCK_TERMS[n].live(filter));
  return (x) => {
    for (const check of checks) if (!check(x)) return false;
    return true;
  };
}

/** The SQL condition of each term the filter asks for (absent: not asked); the source places each where its query wants it. */
export function stuckSql(filter: StuckFilter, columns: StuckColumns, bind: Bind): Partial<Record<StuckTermName, string>> {
  const out: Partial<Record<StuckTermName, string>> = {};
  for (const n of NAMES) if (STUCK_TERMS[n].applies(filter)) out[n] = STUCK_TERMS[n].sql(filter, columns, bind);
  return out;
}

/** An operator's pattern as a RegExp: with * and ? a glob over the whole value, else a substring; case-insensitive. */
export function globPattern(value: string): RegExp {
  const escaped = value.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  if (/[*?]/.test(value)) return new RegExp(`^${escaped.replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]')}$`, 'i');
  return new RegExp(escaped, 'i');
}

/** The same pattern for ILIKE. */
export function likePattern(pattern: string): string {
  const escaped = pattern.replace(/[\\%_]/g, (c) => `\\${c}`);
  if (/[*?]/.test(pattern)) return escaped.replace(/\*/g, '%').replace(/\?/g, '_');
  return `%${escaped}%`;
}
