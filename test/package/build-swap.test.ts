/**
 * Builds do not pull the floor away: while dist/ is rebuilt over and over
 * (as `npm test` and `npm run demo` in two terminals do), the demo starts
 * and runs in a terminal, and the bin keeps answering. Every other test file
 * of the suite spawns dist/cli.js meanwhile too.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { TmuxSession, ROOT, ensureBuilt } from '../tmux/tmux.js';

const run = promisify(execFile);
const CLI = join(ROOT, 'dist', 'cli.js');
const dirs: string[] = [];
const tm = new TmuxSession();

afterAll(() => {
  tm.kill();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('rebuilding dist/ while the bin and the demo run', () => {
  it('never breaks a running demo or a starting command', async () => {
    ensureBuilt();
    let stop = false;
    const builds: number[] = [];
    const rebuild = (async () => {
      while (!stop) {
        await run(process.execPath, ['build.mjs'], { cwd: ROOT });
        builds.push(Date.now());
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    })();
    try {
      tm.start(['demo']);
      const dir = mkdtempSync(join(tmpdir(), 'noetl-console-swap-'));
      dirs.push(dir);
      // Commands started during the rebuilds: --help loads every command module.
      for (let i = 0; i < 5; i++) {
        expect((await run(process.execPath, [CLI, '--help'])).stdout).toContain('demo');
        expect((await run(process.execPath, [CLI, '--version'])).stdout).toMatch(/^\d+\.\d+\.\d+/);
      }
      await run(process.execPath, [CLI, 'demo', '--data-dir', join(dir, 'd')]);
      const list = JSON.parse((await run(process.execPath, [CLI, 'list', '--json', '--database-url', `pglite://${join(dir, 'd')}`])).stdout) as { count: number };
      expect(list.count).toBeGreaterThan(5);

      // The demo, started while dist/ was being replaced, shows its data, then answers keys.
      await tm.waitForText('ml/features/rebuild', 180_000);
      expect(builds.length).toBeGreaterThanOrEqual(2);
      tm.keys('?');
      await tm.waitForText('quit at once', 30_000);
      tm.keys('Escape');
      // Escape and q in one read would be alt-q: wait for the list first.
      await tm.waitFor((screen) => !screen.includes('quit at once'), 'the help to close', 30_000);
      tm.keys('q');
      await tm.waitFor(() => !tm.alive(), 'the demo to quit', 30_000);
    } finally {
      stop = true;
      await rebuild;
    }
    // Each build cleaned up after itself: no half-built directory left beside dist/.
    expect(readdirSync(ROOT).filter((f) => f.startsWith('.dist-new-'))).toEqual([]);
  }, 400_000);
});
