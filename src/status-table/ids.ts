import { UsageError, quoted } from '../errors.js';
import { parseExecutionId } from '../core/ids.js';
import type { IdType } from './sql.js';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
export const MAX_TEXT_ID = 200;

/** An operator's id in the canonical form the table returns (id::text); throws UsageError. */
export function parseRowId(type: IdType, raw: string): string {
  const shown = quoted(raw, 60);
  switch (type) {
    case 'integer':
      return parseExecutionId(raw);
    case 'uuid': {
      const text = raw.trim();
      if (!UUID.test(text)) throw new UsageError(`invalid id ${shown}: expected a UUID`);
      const hex = text.replace(/-/g, '').toLowerCase();
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
    case 'text':
      if (raw.length === 0 || raw.length > MAX_TEXT_ID || CONTROL.test(raw)) {
        throw new UsageError(`invalid id ${shown}: expected 1 to ${MAX_TEXT_ID} characters, no control characters`);
      }
      return raw;
  }
}

/** parseRowId, or null for an id that cannot exist in the table. */
export function canonicalRowId(type: IdType, raw: string): string | null {
  try {
    return parseRowId(type, raw);
  } catch {
    return null;
  }
}
