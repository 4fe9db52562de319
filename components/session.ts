/**
 * One open database and its source, as the console holds it: the one it
 * started with, then whichever context the picker switched to.
 */
import type { ConnectionOptions } from '../src/config.js';
import type { SelectedContext } from '../src/config-file.js';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open.js';
import { writeGate } from '../src/db/write-gate.js';
import type { ExecutionSource } from '../src/source.js';

export interface Session {
  source: ExecutionSource;
  /** Enforced by the database session (connection.readOnly): --read-only or a read-only context. */
  readOnly: boolean;
  context: SelectedContext | null;
  /** Waits for a write in progress, then closes the source and the database (not one handed in). */
  close(): Promise<void>;
}

export async function openSession(
  r: { connection: ConnectionOptions; open: (db: Database) => ExecutionSource; context: SelectedContext | null },
  database?: Database,
): Promise<Session> {
  const db = database ?? (await openDatabase(r.connection));
  const source = r.open(db);
  return {
    source,
    readOnly: r.connection.readOnly,
    context: r.context,
    close: async () => {
      await writeGate.idle();
      await source.close?.().catch(() => undefined);
      if (!database) await db.close().catch(() => undefined);
    },
  };
}
