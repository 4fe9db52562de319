/**
 * The exposition's label values: Prometheus's escapes (backslash, double
 * quote, newline) and no raw control or bidi character from the database.
 */
import { describe, expect, it } from 'vitest';
import { escapeLabel, renderMetrics, type MetricsOptions } from '../../src/metrics.js';

const O: MetricsOptions = { stuckSeconds: 300, longRunningSeconds: 3600, topPaths: 10, context: null };
const ESC = '\u001b';
/** One sample line of the text format: name, labels with escaped values, a number. */
const SAMPLE = /^[a-z_]+(\{[a-z_]+="(?:[^"\\\n]|\\[\\"n])*"(?:,[a-z_]+="(?:[^"\\\n]|\\[\\"n])*")*\})? (?:-?\d+(?:\.\d+)?(?:e[+-]?\d+)?|NaN)$/;
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** A label value as Prometheus reads it back. */
const unescape = (v: string) => v.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c));

describe('escapeLabel', () => {
  it('applies the text format rules: backslash, double quote', () => {
    expect(escapeLabel('a\\b"c')).toBe('a\\\\b\\"c');
    expect(unescape(escapeLabel('etl/"q"\\x'))).toBe('etl/"q"\\x');
  });

  it('shows control, escape and bidi characters as list does, never raw', () => {
    const hostile = `etl/${ESC}[2J${ESC}]0;title\u0007\u009b31m\u202eevil\nline2\ttab`;
    const label = escapeLabel(hostile);
    expect(label).not.toMatch(RAW_CONTROL);
    expect(label).not.toContain('\n');
    expect(unescape(label)).toBe('etl/\\x1b[2J\\x1b]0;title\\x07\\x9b31m\\u202eevil\\nline2\\ttab');
  });

  it('keeps long values whole, so that two long paths keep two series', () => {
    const long = `p/${'x'.repeat(3000)}`;
    expect(escapeLabel(`${long}a`)).not.toBe(escapeLabel(`${long}b`));
  });
});

describe('renderMetrics', () => {
  it('every sample of a snapshot with hostile paths and context is one valid line with no raw control character', () => {
    const text = renderMetrics(
      {
        running: 2,
        stuck: 1,
        longRunning: 0,
        oldestRunningSeconds: 42,
        byPath: [
          { path: `etl/${ESC}[31mred${ESC}[0m`, running: 1, stuck: 1 },
          { path: 'etl/"quoted"\\\nnext', running: 1, stuck: 0 },
        ],
      },
      { ...O, context: `prod${ESC}[2J` },
      0.01,
    );
    expect(text).not.toMatch(RAW_CONTROL);
    for (const line of text.trimEnd().split('\n')) {
      if (!line.startsWith('#')) expect(line).toMatch(SAMPLE);
    }
    expect(text).toContain('noetl_console_running_executions_by_path{context="prod\\\\x1b[2J",path="etl/\\\\x1b[31mred\\\\x1b[0m"} 1');
    expect(text).toContain('path="etl/\\"quoted\\"\\\\\\\\nnext"} 1');
  });
});
