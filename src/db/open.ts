import type { ConnectionOptions } from '../config.js';
import type { Database } from './database.js';

export async function openDatabase(options: ConnectionOptions): Promise<Database> {
  if (options.target.kind === 'pglite') {
    const { openPglite } = await import('./pglite.js');
    return openPglite(options);
  }
  // Loaded here, so that a command's --help and usage errors never parse pg.
  const { openPostgres } = await import('./postgres.js');
  return openPostgres(options);
}
