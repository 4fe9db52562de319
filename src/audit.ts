import { hostname, userInfo } from 'node:os';
import { VERSION } from './version.js';

/** Who acts, from where, with which console: stored in every event the console writes. */
export interface Actor {
  os_user: string;
  host: string;
  console_version: string;
}

export function currentActor(): Actor {
  let user = process.env.SUDO_USER || process.env.USER || process.env.LOGNAME || '';
  try {
    user ||= userInfo().username;
  } catch {
    user ||= 'unknown';
  }
  return { os_user: user, host: hostname(), console_version: VERSION };
}
