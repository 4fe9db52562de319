import type { ConnectionOptions } from '../config.js';
import type { Database } from './database.js';
import { openPostgres } from './postgres.js';

export async function openDatabase(options: ConnectionOptions): Promise<Database> {
  if (options.target.kind === 'pglite') {
    const { openPglite } = await import('./pglite.js');
    return openPglite(options);
  }
  return openPostgres(options);
}
