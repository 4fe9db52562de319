/**
 * Policies: the config file's `policies`, rules matched in order. The first
 * rule whose `match` (a glob on the playbook path; the label for status
 * tables) fits an execution judges it: stuck when its age reaches `ratio`
 * times its path's learned p95 (with at least `min_history` finished runs),
 * else, without that history or without `ratio`, when it reaches
 * `older_than`; with `idle`, also only after that long without an event.
 */
import type { PolicyRuleConfig } from './config-file.js';
import { formatSeconds } from './duration.js';
import type { Execution } from './core/execution.js';
import { DEFAULT_MIN_HISTORY, historyOf, type ThresholdMap } from './core/thresholds.js';

export type PolicyAction = PolicyRuleConfig['action'];

export interface Verdict {
  /** 1-based, in file order. */
  rule: number;
  /** The rule's name, else `#N match`. */
  name: string;
  action: PolicyAction;
  stuck: boolean;
  /** What set the threshold: the ratio over learned history, or older_than (no ratio, or too little history). */
  basis: 'ratio' | 'older_than';
  threshold_seconds: number;
  /** "4.1x p95 >= 3x", "25m >= older_than 10m (no history)". */
  why: string;
}

/** A glob over the whole value: * any run of characters, ? one; case-sensitive, as paths are. */
export function globRegex(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${escaped.replace(/\*/g, '[\\s\\S]*').replace(/\?/g, '[\\s\\S]')}$`);
}

export function ruleName(rule: PolicyRuleConfig, index: number): string {
  return rule.name ?? `#${index + 1} ${rule.match}`;
}

/** The rules, compiled once. */
export class Policy {
  private readonly globs: RegExp[];

  constructor(
    readonly rules: readonly PolicyRuleConfig[],
    /** thresholds.min_history of the config: a rule's min_history defaults to it. */
    private readonly minHistory = DEFAULT_MIN_HISTORY,
  ) {
    this.globs = rules.map((r) => globRegex(r.match));
  }

  /** The first matching rule's verdict; null when no rule matches (the execution is left alone). */
  judge(e: Execution, thresholds: ThresholdMap): Verdict | null {
    const i = this.globs.findIndex((g) => g.test(e.path ?? ''));
    if (i < 0) return null;
    const rule = this.rules[i]!;
    const min = rule.min_history ?? this.minHistory;
    const h = e.history ?? historyOf(e, thresholds, min);
    const learned = rule.ratio !== undefined && h.history_samples >= min && h.p95_seconds !== null;
    const threshold = learned ? Math.round(rule.ratio! * Math.max(1, h.p95_seconds!)) : rule.older_than;
    const idle = e.idle_seconds ?? e.age_seconds;
    const stuck = e.age_seconds >= threshold && (rule.idle === undefined || idle >= rule.idle);
    const age = formatSeconds(e.age_seconds);
    const why = learned
      ? `${age} is ${(e.age_seconds / Math.max(1, h.p95_seconds!)).toFixed(1)}x p95 ${formatSeconds(h.p95_seconds!)} (limit ${rule.ratio}x)`
      : `${age} vs older_than ${formatSeconds(rule.older_than)}${rule.ratio !== undefined ? ` (no history: ${h.history_samples} of ${min} runs)` : ''}`;
    return {
      rule: i + 1,
      name: ruleName(rule, i),
      action: rule.action,
      stuck,
      basis: learned ? 'ratio' : 'older_than',
      threshold_seconds: threshold,
      why: rule.idle === undefined ? why : `${why}, idle ${formatSeconds(idle)} vs ${formatSeconds(rule.idle)}`,
    };
  }

  /** The executions some rule finds stuck, each with its verdict, in the order given. */
  stuck(rows: readonly Execution[], thresholds: ThresholdMap): { execution: Execution; verdict: Verdict }[] {
    const out: { execution: Execution; verdict: Verdict }[] = [];
    for (const execution of rows) {
      const verdict = this.judge(execution, thresholds);
      if (verdict?.stuck) out.push({ execution, verdict });
    }
    return out;
  }
}

/** A verdict's JSON (list --policy, cleanup --policy, sweep). */
export function verdictJson(v: Verdict) {
  return { rule: v.rule, name: v.name, action: v.action, basis: v.basis, threshold_seconds: v.threshold_seconds, why: v.why };
}
