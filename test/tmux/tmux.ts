/** Driving the built bin in a real terminal (tmux) for end-to-end tests. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { eventually } from '../helpers/eventually.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = `${ROOT}dist/cli.js`;

/** npm test builds first; a lone run of this suite builds only when dist is missing. */
export function ensureBuilt(): void {
  if (!existsSync(CLI)) execFileSync(process.execPath, ['build.mjs'], { cwd: ROOT, stdio: 'ignore' });
}

export class TmuxSession {
  readonly name = `nc-e2e-${randomBytes(4).toString('hex')}`;

  /** Start `node dist/cli.js args…` in an 80x24 terminal. */
  start(args: string[], columns = 80, rows = 24): void {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // Ink draws only a final frame under CI=true; the console is on a terminal here.
    const command = `env -u CI -u CONTINUOUS_INTEGRATION TERM=xterm-256color node ${CLI} ${quoted}`;
    execFileSync('tmux', ['new-session', '-d', '-s', this.name, '-x', String(columns), '-y', String(rows), command], { cwd: ROOT });
  }

  /**
   * The same inside a shell that stays after the console exits and prints
   * `EXITED <status>`: to see the terminal the console left behind.
   */
  startInShell(args: string[], columns = 80, rows = 24, env: Record<string, string> = {}): void {
    const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    const vars = Object.entries(env)
      .map(([k, v]) => `${k}='${v}'`)
      .join(' ');
    const script = `env -u CI -u CONTINUOUS_INTEGRATION TERM=xterm-256color ${vars} node ${CLI} ${quoted}; echo "EXITED $?"; sleep 600`;
    execFileSync('tmux', ['new-session', '-d', '-s', this.name, '-x', String(columns), '-y', String(rows), 'sh', '-c', script], { cwd: ROOT });
  }

  /** A tmux format of the pane: #{alternate_on}, #{cursor_flag}, #{pane_pid}. */
  format(spec: string): string {
    return execFileSync('tmux', ['display-message', '-p', '-t', this.name, spec], { encoding: 'utf8' }).trim();
  }

  /** The console's process id: the shell's child. */
  consolePid(): number {
    const shell = this.format('#{pane_pid}');
    const out = execFileSync('pgrep', ['-P', shell], { encoding: 'utf8' }).trim().split('\n')[0];
    return Number(out);
  }

  keys(...keys: string[]): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, ...keys]);
  }

  /** Literal text, not key names. */
  type(text: string): void {
    execFileSync('tmux', ['send-keys', '-t', this.name, '-l', text]);
  }

  screen(): string {
    try {
      return execFileSync('tmux', ['capture-pane', '-p', '-t', this.name], { encoding: 'utf8' });
    } catch {
      return '';
    }
  }

  alive(): boolean {
    try {
      execFileSync('tmux', ['has-session', '-t', this.name], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  }

  async waitFor(check: (screen: string) => boolean, what: string, timeoutMs = 20_000): Promise<string> {
    // Wrapped: the screen of a session that has ended is '' and still an answer.
    const seen = await eventually(
      what,
      () => {
        const screen = this.screen();
        return check(screen) && { screen };
      },
      { timeoutMs, intervalMs: 100, detail: () => `screen:\n${this.screen()}` },
    );
    return seen.screen;
  }

  waitForText(text: string | RegExp, timeoutMs?: number): Promise<string> {
    return this.waitFor((s) => (typeof text === 'string' ? s.includes(text) : text.test(s)), String(text), timeoutMs);
  }

  /** Let the console set the clipboard with OSC 52 (tmux then keeps it as a paste buffer). */
  clipboardOn(): void {
    execFileSync('tmux', ['set-option', '-t', this.name, 'set-clipboard', 'on']);
  }

  /** The newest tmux paste buffer. */
  pasteBuffer(): string {
    try {
      return execFileSync('tmux', ['show-buffer'], { encoding: 'utf8' });
    } catch {
      return '';
    }
  }

  kill(): void {
    try {
      execFileSync('tmux', ['kill-session', '-t', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
}
