// Text from the database (paths, step names, errors, meta) must never drive
// the terminal: escape sequences, C0/C1 control characters and bidi controls
// become visible escapes, and very long values are cut.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\ufffe\uffff]/g;

export function safeText(value: unknown, max = 500): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  const cleaned = text.replace(UNSAFE, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\t') return '\\t';
    if (c === '\r') return '\\r';
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
  // Lone surrogates (from bad UTF-8 or mangled JSON) render as U+FFFD.
  const wellFormed = cleaned.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
  return wellFormed.length > max ? `${wellFormed.slice(0, max - 1)}…` : wellFormed;
}
