/**
 * The few non-ASCII characters the console draws, with ASCII stand-ins for a
 * terminal that cannot show them (a non-UTF-8 locale, TERM=dumb).
 */
export interface Glyphs {
  ascii: boolean;
  ellipsis: string;
  ge: string;
  dot: string;
  up: string;
  down: string;
  left: string;
  right: string;
  branch: string;
  warn: string;
  border: 'round' | 'classic';
}

const UNICODE: Glyphs = { ascii: false, ellipsis: '…', ge: '≥', dot: '·', up: '↑', down: '↓', left: '←', right: '→', branch: '└', warn: '!', border: 'round' };
const ASCII: Glyphs = { ascii: true, ellipsis: '~', ge: '>=', dot: '|', up: '^', down: 'v', left: '<-', right: '->', branch: '`-', warn: '!', border: 'classic' };

let current = UNICODE;

/** The glyphs in use. */
export const G = (): Glyphs => current;

/** Chosen once at start (and by tests). */
export function setAsciiGlyphs(on: boolean): void {
  current = on ? ASCII : UNICODE;
}

/**
 * Whether this environment can show UTF-8: TERM is not dumb, and the first
 * set of LC_ALL, LC_CTYPE, LANG names UTF-8 (C, POSIX, ISO-8859-1 do not).
 * No locale at all is taken as UTF-8, what terminals and containers mostly are.
 */
export function unicodeTerminal(env: NodeJS.ProcessEnv): boolean {
  if (env.TERM === 'dumb') return false;
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return locale === '' || /utf-?8/i.test(locale);
}

/** One ASCII character for each non-ASCII one the console or Ink draws: widths stay as laid out. */
const TO_ASCII: Record<string, string> = {
  '…': '~',
  '≥': '>',
  '·': '-',
  '↑': '^',
  '↓': 'v',
  '←': '<',
  '→': '>',
  '└': '`',
  '—': '-',
  '╭': '+',
  '╮': '+',
  '╰': '+',
  '╯': '+',
  '┌': '+',
  '┐': '+',
  '┘': '+',
  '─': '-',
  '│': '|',
};
const NON_ASCII = /[^\x00-\x7f]/g;

/**
 * The terminal output in ASCII: the glyphs above by their stand-ins, any
 * other non-ASCII character (text from the database) as `?`.
 */
export function toAscii(text: string): string {
  return text.replace(NON_ASCII, (c) => TO_ASCII[c] ?? '?');
}
