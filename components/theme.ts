/**
 * Colours by role. The monochrome theme has no colour at all (NO_COLOR,
 * --no-color): the cursor is inverse video with a `>` marker and marks are
 * `*`, which stay visible without colour.
 */
import { TONE_COLOR } from '../src/format/spans.js';

export interface Theme {
  color: boolean;
  accent: string | undefined;
  ok: string | undefined;
  warn: string | undefined;
  danger: string | undefined;
  info: string | undefined;
  mark: string | undefined;
}

export const COLOR_THEME: Theme = { color: true, ...TONE_COLOR };

export const MONO_THEME: Theme = {
  color: false,
  accent: undefined,
  ok: undefined,
  warn: undefined,
  danger: undefined,
  info: undefined,
  mark: undefined,
};

export function themeFor(color: boolean): Theme {
  return color ? COLOR_THEME : MONO_THEME;
}
