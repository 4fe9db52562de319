import type { ConnectionOptions } from '../src/config.js';
import type { ContextChoice, SelectedContext } from '../src/config-file.js';
import type { Database } from '../src/db/database.js';
import type { ExecutionSource } from '../src/source.js';
import { openSession, type Session } from './session.js';
import { constants } from 'node:os';
import { writeGate } from '../src/db/write-gate.js';
import { toAscii, unicodeTerminal, setAsciiGlyphs } from './glyphs.js';

export interface InteractiveOptions {
  connection: ConnectionOptions;
  olderThanSeconds: number;
  idleSeconds: number | null;
  refreshSeconds: number;
  color: boolean;
  /** From --reason: the dialog opens with it. */
  reason?: string | null;
  /** The source on the open database (NoETL or a status table). */
  openSource: (db: Database) => ExecutionSource;
  /** The config file's context in effect (the header shows it). */
  context?: SelectedContext | null;
  /** The config file's contexts, and how to resolve one (the `x` picker). */
  contexts?: readonly ContextChoice[];
  forContext?: (name: string) => { connection: ConnectionOptions; open: (db: Database) => ExecutionSource; context: SelectedContext | null };
  /** An already open database (the demo's); it is left open when the app ends. */
  database?: Database;
}

export const RENDER_FPS = 120;

const ALT_SCREEN_ON = '\u001B[?1049h';
// Normal screen and a visible cursor, whatever state the app was in.
const TERMINAL_RESTORE = '\u001B[?1049l\u001B[?25h';
const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;

/**
 * The interactive console on this terminal, in the alternate screen so that
 * quitting leaves the terminal as it was. Resolves with the exit code.
 */
export async function runInteractive(o: InteractiveOptions): Promise<number> {
  // Ink draws only a final frame when it believes it runs in CI; this is a terminal.
  delete process.env.CI;
  delete process.env.CONTINUOUS_INTEGRATION;
  // React's development build is several times slower; React is first loaded just below.
  process.env.NODE_ENV ??= 'production';
  // Node prints warnings straight to stderr, which would draw over the screen.
  process.noDeprecation = true;
  // No JSX in this file: it would load React's runtime before NODE_ENV is set.
  const [{ render }, { ContextSwitch }, { createElement }] = await Promise.all([import('ink'), import('./ContextSwitch.js'), import('react')]);
  let session: Session = await openSession({ connection: o.connection, open: o.openSource, context: o.context ?? null }, o.database);
  const forContext = o.forContext;

  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    process.stdout.write(TERMINAL_RESTORE);
  };
  process.stdout.write(ALT_SCREEN_ON);
  process.once('exit', restore);

  let quitCode = 0;
  if (!unicodeTerminal(process.env)) {
    setAsciiGlyphs(true);
    // Whatever is still non-ASCII (Ink's own ellipsis, text from the database) is translated on the way out.
    const write = process.stdout.write.bind(process.stdout) as (chunk: unknown, ...rest: unknown[]) => boolean;
    process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => write(typeof chunk === 'string' ? toAscii(chunk) : chunk, ...rest)) as typeof process.stdout.write;
  }
  const app = render(
    createElement(ContextSwitch, {
      initial: session,
      contexts: o.contexts ?? [],
      // Resolved when chosen: the config file as it is then, with the flags the console started with.
      open: async (name: string) => {
        if (!forContext) throw new Error('contexts cannot be switched here');
        return openSession(forContext(name));
      },
      onSession: (next: Session) => {
        session = next;
      },
      filter: { olderThanSeconds: o.olderThanSeconds, idleSeconds: o.idleSeconds, text: '', includeChildren: false },
      refreshSeconds: o.refreshSeconds,
      color: o.color,
      reason: o.reason ?? null,
      onQuit: (code: number) => {
        quitCode = code;
      },
    }),
    // Ink throttles frames to maxFps: at 60 a key pressed just after a refresh's frame
    // waits up to 16.7 ms for its own. Frames are diffs, so 120 costs little.
    { exitOnCtrlC: false, maxFps: RENDER_FPS },
  );
  // A signal ends the app at once (the terminal restored) but not a write in
  // progress: that one finishes or rolls back, no other starts, and stderr says which.
  let stoppedBy: NodeJS.Signals | null = null;
  const stop = (signal: NodeJS.Signals) => {
    if (stoppedBy) return;
    stoppedBy = signal;
    writeGate.signal ??= signal;
    app.unmount();
    restore();
  };
  for (const signal of SIGNALS) process.on(signal, stop);
  try {
    await app.waitUntilExit();
  } finally {
    restore();
    if (writeGate.inFlight > 0) {
      process.stderr.write(`noetl-console: ${stoppedBy ?? 'quit'}: waiting for the write in progress to commit or roll back\n`);
      await writeGate.idle();
    }
    for (const signal of SIGNALS) process.off(signal, stop);
    await session.close();
  }
  if (!stoppedBy) return quitCode;
  const outcome = writeGate.afterSignal.at(-1);
  if (outcome) process.stderr.write(`noetl-console: ${stoppedBy} during a write: it ${outcome === 'unknown' ? 'may or may not have committed: re-read before acting' : outcome}\n`);
  return outcome === 'committed' ? 0 : outcome === 'unknown' ? 1 : 128 + (constants.signals[stoppedBy] ?? 15);
}
