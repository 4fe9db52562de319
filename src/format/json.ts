/**
 * JSON for scripts: ids are strings already; JSON.stringify escapes control
 * characters, and lone surrogates are escaped as \udXXX (well-formed JSON).
 * Compact unless `pretty` (commands pretty-print for a terminal only: a pipe
 * gets a third of the bytes and no indentation work).
 */
export function toJson(value: unknown, pretty = false): string {
  let text: string;
  try {
    // No replacer on the common path: a replacer function is called for every value.
    text = JSON.stringify(value, null, pretty ? 2 : undefined);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), pretty ? 2 : undefined);
  }
  // JSON.stringify leaves DEL, C1 controls (CSI is U+009B), line separators and
  // bidi controls raw; a terminal showing the JSON would act on them.
  return text.replace(UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const UNSAFE = /[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** JSON Lines: one compact value a line, written in blocks so that a large list streams without one huge string. */
export function writeJsonLines(values: Iterable<unknown>, write: (text: string) => void, block = 1000): void {
  let lines: string[] = [];
  for (const value of values) {
    lines.push(toJson(value));
    if (lines.length >= block) {
      write(`${lines.join('\n')}\n`);
      lines = [];
    }
  }
  if (lines.length) write(`${lines.join('\n')}\n`);
}
