/**
 * JSON documents kept between runs in the user's cache directory
 * ($XDG_CACHE_HOME/noetl-console, else ~/.cache/noetl-console): the
 * running-set snapshot (src/noetl/snapshot.ts) and anything else worth
 * remembering about a database. Never a secret: callers store ids, times and
 * counts, and the key names the database without its credentials.
 *
 * A document lives under `<kind>-<hash of its key>.json`. Its key is stored
 * inside too, so a file copied or renamed from another database reads as
 * foreign, not as this database's. The directory is 0700 and files 0600;
 * a write goes to a temporary file renamed into place, so a reader sees the
 * old document or the new one, never half of one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** What a document is about: each part a string (or null), compared exactly. */
export type CacheKey = Readonly<Record<string, string | null>>;

export type CacheRead<T> = { status: 'ok'; savedAt: Date; value: T; path: string } | { status: 'missing' | 'corrupt' | 'foreign'; path: string };

const FORMAT = 1;

/** $XDG_CACHE_HOME/noetl-console when it is an absolute path (the XDG spec ignores a relative one), else ~/.cache/noetl-console. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.cache'), 'noetl-console');
}

function canonical(key: CacheKey): string {
  return JSON.stringify(
    Object.keys(key)
      .sort()
      .map((k) => [k, key[k] ?? null]),
  );
}

export function cachePath(kind: string, key: CacheKey, dir: string = cacheDir()): string {
  if (!/^[a-z][a-z0-9-]{0,40}$/.test(kind)) throw new Error(`cache kind ${JSON.stringify(kind)}: lowercase letters, digits and -`);
  return join(dir, `${kind}-${createHash('sha256').update(canonical(key)).digest('hex').slice(0, 32)}.json`);
}

/**
 * The document saved under `key`, checked by `parse` (null: corrupt). Never
 * throws: an unreadable, unparsable or foreign file is reported as such.
 */
export function readCache<T>(kind: string, key: CacheKey, parse: (value: unknown) => T | null, dir: string = cacheDir()): CacheRead<T> {
  const path = cachePath(kind, key, dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { status: (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : 'corrupt', path };
  }
  try {
    const doc = JSON.parse(text) as { format?: unknown; kind?: unknown; key?: unknown; saved_at?: unknown; value?: unknown };
    if (doc?.format !== FORMAT || doc.kind !== kind || typeof doc.saved_at !== 'string') return { status: 'corrupt', path };
    const savedAt = new Date(doc.saved_at);
    if (Number.isNaN(savedAt.getTime())) return { status: 'corrupt', path };
    if (typeof doc.key !== 'object' || doc.key === null || canonical(doc.key as CacheKey) !== canonical(key)) return { status: 'foreign', path };
    const value = parse(doc.value);
    return value === null ? { status: 'corrupt', path } : { status: 'ok', savedAt, value, path };
  } catch {
    return { status: 'corrupt', path };
  }
}

/** Save `value` under `key` (temporary file, then rename); returns the file's path. Throws on a file system error. */
export function writeCache(kind: string, key: CacheKey, value: unknown, dir: string = cacheDir(), now: Date = new Date()): string {
  const path = cachePath(kind, key, dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is masked by the umask and leaves an existing directory alone.
  chmodSync(dir, 0o700);
  const text = JSON.stringify({ format: FORMAT, kind, key, saved_at: now.toISOString(), value });
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    // No fsync: the rename keeps readers from a half-written file, and a file a crash left empty or
    // cut short does not parse, so it is read as corrupt and costs one full load (an fsync cost every
    // --fresh run 10-30 ms on a quiet disk for a 20 MB snapshot, far more on a busy one).
    writeSync(fd, text);
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  closeSync(fd);
  try {
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return path;
}

/** Forget the document under `key` (absent is fine). */
export function removeCache(kind: string, key: CacheKey, dir: string = cacheDir()): void {
  rmSync(cachePath(kind, key, dir), { force: true });
}
