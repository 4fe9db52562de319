/**
 * JSON for scripts: ids are strings already; JSON.stringify escapes control
 * characters, and lone surrogates are escaped as \udXXX (well-formed JSON).
 */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
  // JSON.stringify leaves DEL, C1 controls (CSI is U+009B), line separators and
  // bidi controls raw; a terminal showing the JSON would act on them.
  return text.replace(/[\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
