import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { VERSION } from './version.js';

/** Who acts, from where, with which console: stored in every event the console writes. */
export interface Actor {
  os_user: string;
  host: string;
  console_version: string;
}

export function currentActor(env: NodeJS.ProcessEnv = process.env): Actor {
  let user = env.SUDO_USER || env.USER || env.LOGNAME || '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return { os_user: user, host: hostname(), console_version: VERSION };
}

/**
 * One write (a command, a confirmed dialog): its id and what selected it,
 * recorded in every row it writes, so `history` and `verify` can find it.
 */
export interface Batch {
  id: string;
  /** cancel, fail, complete, cleanup, console. */
  command: string;
  /** The flags or the dialog's filter and ids that chose the executions. */
  selection: Record<string, unknown>;
}

/** "20261202T130512Z-3f9a1c": sorts by time, unique enough across consoles. */
export function newBatch(command: string, selection: Record<string, unknown>): Batch {
  const at = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return { id: `${at}-${randomBytes(3).toString('hex')}`, command, selection };
}
