// The build, with esbuild. `node build.mjs` builds the bin into dist/ (what
// the package publishes); `node build.mjs --dev` also builds the benchmark and
// soak harnesses into build/ (never published).
//
// Each output is built into a fresh directory and its files are renamed into
// place, the entry last, then files of the previous build that the new one no
// longer has are removed. A rename replaces a file atomically, so a demo or a
// test run started from dist/ meanwhile never finds a file missing (chunk
// names are content hashes: an unchanged build renames identical files).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  splitting: true,
  logLevel: 'warning',
  define: { __NOETL_CONSOLE_VERSION__: JSON.stringify(pkg.version) },
  banner: {
    // Bundled CommonJS (pg) calls require for Node's own modules.
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
};

const targets = [
  {
    dir: 'dist',
    entryPoints: { cli: 'commands/main.ts' },
    // The small dependencies are bundled: resolving and loading them file by file
    // was most of the start-up time. Ink, React and PGlite stay packages (they load
    // assets relative to themselves); with yaml, which src/config-file.ts requires at
    // run time, only these are the package's dependencies.
    external: ['pg-native', 'ink', 'react', 'react/*', '@electric-sql/pglite', '@electric-sql/pglite/*'],
  },
  {
    dir: 'build',
    dev: true,
    entryPoints: {
      bench: 'bench/main.ts',
      'bench-ui': 'bench/ui.ts',
      'bench-shards': 'bench/shards.ts',
      soak: 'bench/soak.ts',
      startup: 'bench/startup.ts',
      'after-cleanup': 'bench/after-cleanup.ts',
      'cleanup-write': 'bench/cleanup-write.ts',
    },
    // Run from the repository: its node_modules has every package.
    packages: 'external',
  },
];

/** Move the fresh build's files into `dir`: chunks first, entries last, then drop what the new build has not. */
function swapIn(fresh, dir, entries) {
  const files = readdirSync(fresh);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  const last = new Set(entries.map((e) => `${e}.js`));
  for (const f of files.filter((f) => !last.has(f))) renameSync(join(fresh, f), join(dir, f));
  for (const f of files.filter((f) => last.has(f))) {
    chmodSync(join(fresh, f), 0o755);
    renameSync(join(fresh, f), join(dir, f));
  }
  const kept = new Set(files);
  for (const f of readdirSync(dir)) if (!kept.has(f)) rmSync(join(dir, f), { recursive: true, force: true });
}

const dev = process.argv.includes('--dev');
for (const t of targets.filter((t) => dev || !t.dev)) {
  const { dir, dev: _dev, ...options } = t;
  // A sibling of the output, so that renames stay on one file system.
  const fresh = mkdtempSync(join(root, `.${dir}-new-`));
  try {
    await esbuild.build({ ...common, ...options, absWorkingDir: root, outdir: fresh });
    swapIn(fresh, join(root, dir), Object.keys(options.entryPoints));
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
}
