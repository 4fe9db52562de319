// The bin. `--version` answers before anything else is loaded, so scripts
// that probe the console start as fast as node itself.
import { VERSION } from '../src/version.js';

// A reader that goes away (`| head`) is not an error worth a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
  process.stdout.write(`${VERSION}\n`);
} else {
  // pg asks whether it runs on Cloudflare Workers with `typeof Response`, which
  // makes Node 20 load its whole fetch implementation (~10 ms of every start).
  // Node 21+ answers from `navigator` first; give Node 20 the same answer.
  if (!('navigator' in globalThis)) {
    Object.defineProperty(globalThis, 'navigator', { value: { userAgent: `Node.js/${process.versions.node}` }, configurable: true });
  }
  const { run } = await import('./program.js');
  process.exitCode = await run(argv);
}
