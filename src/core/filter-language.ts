import { parseDuration } from '../duration.js';
import { UsageError } from '../errors.js';
import type { Execution } from './execution.js';
import { globPattern } from './filter.js';

/**
 * The filter language of `/` in the console and of `list --filter`: terms
 * separated by spaces, all of which must hold.
 *
 *   nightly_batch          bare word: the path or the id contains it (a glob with * and ? matches the whole)
 *   diag:"worker dead"     diagnosis; worker: step: path: id: tenant: likewise
 *   age>2h  idle>=30m      age or idle compared with a duration (bare number: minutes)
 *   ratio>3                age over its path's learned p95 (no history: never holds)
 *   -worker:w-live         a leading - negates a term
 */
export interface ParsedFilter {
  /** The expression as given, trimmed. */
  text: string;
  terms: readonly Term[];
}

type TextField = 'any' | 'path' | 'id' | 'diag' | 'worker' | 'step' | 'tenant';
type Term =
  | { kind: 'text'; field: TextField; pattern: RegExp; negate: boolean }
  | { kind: 'compare'; field: 'age' | 'idle'; op: Op; seconds: number; negate: boolean }
  | { kind: 'ratio'; op: Op; value: number; negate: boolean };
type Op = '>' | '>=' | '<' | '<=';

const KEYS: Record<string, TextField> = { path: 'path', id: 'id', diag: 'diag', diagnosis: 'diag', worker: 'worker', step: 'step', tenant: 'tenant' };
export const FILTER_KEYS = ['path', 'id', 'diag', 'worker', 'step', 'tenant', 'age', 'idle', 'ratio'] as const;

/** A bad expression: the message names the offending term. */
export class FilterError extends UsageError {}

/** Split on spaces outside double quotes; the quotes go. */
function tokens(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let has = false;
  for (const c of text) {
    if (c === '"') {
      quoted = !quoted;
      has = true;
    } else if (/\s/.test(c) && !quoted) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += c;
      has = true;
    }
  }
  if (quoted) throw new FilterError(`unclosed quote in ${JSON.stringify(text.slice(text.lastIndexOf('"')))}`);
  if (has) out.push(cur);
  return out;
}

function parseTerm(raw: string): Term {
  const negate = raw.startsWith('-') && raw.length > 1;
  const body = negate ? raw.slice(1) : raw;
  const ratio = /^ratio(>=|<=|>|<)(.*)$/i.exec(body);
  if (ratio) {
    const value = Number(ratio[2]!.replace(/x$/i, ''));
    if (ratio[2]!.trim() === '' || !Number.isFinite(value) || value < 0) throw new FilterError(`term ${JSON.stringify(raw)}: expected a number, like ratio>3 (times the p95)`);
    return { kind: 'ratio', op: ratio[1] as Op, value, negate };
  }
  const cmp = /^(age|idle)(>=|<=|>|<)(.*)$/i.exec(body);
  if (cmp) {
    const field = cmp[1]!.toLowerCase() as 'age' | 'idle';
    let seconds: number;
    try {
      seconds = parseDuration(`term ${JSON.stringify(raw)}`, cmp[3]!, 'm');
    } catch (e) {
      throw new FilterError((e as Error).message);
    }
    return { kind: 'compare', field, op: cmp[2] as Op, seconds, negate };
  }
  const kv = /^([a-z_]+):(.*)$/i.exec(body);
  if (kv) {
    const field = KEYS[kv[1]!.toLowerCase()];
    if (!field) throw new FilterError(`term ${JSON.stringify(raw)}: unknown key ${JSON.stringify(kv[1])} (keys: ${FILTER_KEYS.join(' ')})`);
    if (!kv[2]) throw new FilterError(`term ${JSON.stringify(raw)}: ${kv[1]}: needs a value`);
    return { kind: 'text', field, pattern: globPattern(kv[2]), negate };
  }
  if (/^(age|idle|ratio)(=|:)/i.test(body)) throw new FilterError(`term ${JSON.stringify(raw)}: compare with > >= < <=, like age>2h`);
  return { kind: 'text', field: 'any', pattern: globPattern(body), negate };
}

/**
 * Whether every execution `next` keeps, `prev` keeps too, read from the text: the same terms, with
 * words typed on (a term that is a plain substring, not negated, grown longer) or terms added. The
 * console then filters what `prev` kept instead of every row. False whenever unsure.
 */
export function narrows(prev: ParsedFilter, next: ParsedFilter): boolean {
  if (next.terms.length < prev.terms.length) return false;
  const a = tokens(prev.text);
  const b = tokens(next.text);
  return prev.terms.every((t, i) => {
    if (a[i] === b[i]) return true;
    const u = next.terms[i]!;
    if (t.kind !== 'text' || u.kind !== 'text' || t.negate || u.negate || t.field !== u.field) return false;
    const value = (token: string) => (t.field === 'any' ? token : token.slice(token.indexOf(':') + 1));
    const was = value(a[i]!);
    const now = value(b[i]!);
    return !/[*?]/.test(was) && !/[*?]/.test(now) && now.includes(was);
  });
}

/** Parse an expression; throws FilterError naming the first bad term. An empty expression matches everything. */
export function parseFilter(text: string): ParsedFilter {
  const trimmed = text.trim();
  if (trimmed.length > 500) throw new FilterError('at most 500 characters');
  return { text: trimmed, terms: tokens(trimmed).map(parseTerm) };
}

function fieldText(e: Execution, field: Exclude<TextField, 'any'>): (string | null | undefined)[] {
  switch (field) {
    case 'path':
      return [e.path];
    case 'id':
      return [e.execution_id];
    case 'diag':
      return [e.diagnosis];
    case 'worker':
      return [e.source === 'noetl' ? e.worker_id : null];
    case 'step':
      return [e.stuck_step, e.last_step];
    case 'tenant':
      return e.source === 'status-table' ? [e.display.tenant, e.display.tenant_id] : [];
  }
}

function compare(v: number, op: Op, w: number): boolean {
  if (op === '>') return v > w;
  if (op === '>=') return v >= w;
  if (op === '<') return v < w;
  return v <= w;
}

function holds(t: Term, e: Execution): boolean {
  if (t.kind === 'compare') return compare(t.field === 'age' ? e.age_seconds : (e.idle_seconds ?? e.age_seconds), t.op, t.seconds);
  if (t.kind === 'ratio') return e.history?.ratio != null && compare(e.history.ratio, t.op, t.value);
  // A bare word (every row, every keystroke in the console): no array per row.
  if (t.field === 'any') return (e.path !== null && t.pattern.test(e.path)) || t.pattern.test(e.execution_id);
  return fieldText(e, t.field).some((v) => typeof v === 'string' && t.pattern.test(v));
}

/** Whether every term holds for `e`. */
export function matchFilter(f: ParsedFilter, e: Execution): boolean {
  // A loop, not every(): the console runs this on every row at every keystroke.
  for (const t of f.terms) if (holds(t, e) === t.negate) return false;
  return true;
}
