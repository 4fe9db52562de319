/**
 * JSON for scripts: ids are strings already; JSON.stringify escapes control
 * characters, and lone surrogates are escaped as \udXXX (well-formed JSON).
 */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}
