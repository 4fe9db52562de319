/**
 * Styled text that both front ends render: the commands with chalk (or
 * plain), the console with Ink. A colour is named by its role (tone); the
 * role's colour is chosen here once.
 */
import type { ChalkInstance } from 'chalk';
import type { ExecutionState, Severity } from '../core/execution.js';

export type Tone = 'ok' | 'warn' | 'danger' | 'accent' | 'info' | 'mark';

export interface Span {
  text: string;
  tone?: Tone | undefined;
  bold?: boolean;
  dim?: boolean;
  inverse?: boolean;
}
export type Line = Span[];

export const span = (text: string, style: Omit<Span, 'text'> = {}): Span => ({ text, ...style });

/** The colour of each role, for chalk and for Ink alike. */
export const TONE_COLOR = {
  ok: 'green',
  warn: 'yellow',
  danger: 'red',
  accent: 'cyan',
  info: 'blue',
  mark: 'magenta',
} as const satisfies Record<Tone, string>;

const STATE_TONE: Record<ExecutionState, Tone> = { running: 'warn', completed: 'ok', failed: 'danger', cancelled: 'mark' };

/** The colour of an execution state (also of a status text that spells one). */
export function stateTone(state: string): Tone | undefined {
  return STATE_TONE[state as ExecutionState];
}

export function severityTone(severity: Severity): Tone | undefined {
  return severity === 'none' ? undefined : severity;
}

/** One line through chalk; a chalk without colour (NO_COLOR, a pipe) gives the plain text. */
export function renderLine(line: Line, c: ChalkInstance): string {
  return line
    .map((s) => {
      let out = s.text;
      if (s.tone) out = c[TONE_COLOR[s.tone]](out);
      if (s.bold) out = c.bold(out);
      if (s.dim) out = c.dim(out);
      if (s.inverse) out = c.inverse(out);
      return out;
    })
    .join('');
}
