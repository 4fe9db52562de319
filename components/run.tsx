import type { ConnectionOptions } from '../src/config.js';

export interface InteractiveOptions {
  connection: ConnectionOptions;
  olderThanSeconds: number;
  idleSeconds: number | null;
  refreshSeconds: number;
  color: boolean;
}

/** Placeholder until the interactive app lands (issue 4). */
export async function runInteractive(_options: InteractiveOptions): Promise<number> {
  process.stderr.write('noetl-console: the interactive console is not built yet\n');
  return 1;
}
