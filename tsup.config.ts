import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  entry: {
    cli: 'commands/main.ts',
    bench: 'bench/main.ts',
    'bench-ui': 'bench/ui.ts',
    soak: 'bench/soak.ts',
  },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  splitting: true,
  sourcemap: false,
  clean: true,
  define: { __NOETL_CONSOLE_VERSION__: JSON.stringify(pkg.version) },
  // The small CommonJS/ESM dependencies of the non-interactive path are bundled:
  // resolving and loading them file by file was most of the start-up time.
  // Ink, React and PGlite stay external (they load assets relative to themselves).
  noExternal: ['zod', 'commander', 'chalk', 'pg', 'pg-connection-string', 'pgpass', /^pg-/, 'postgres-array', 'postgres-bytea', 'postgres-date', 'postgres-interval', 'split2', 'xtend'],
  external: ['pg-native', 'ink', 'react', 'react/jsx-runtime', '@electric-sql/pglite', /^@electric-sql\/pglite\//],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __createRequire } from 'node:module';\nconst require = __createRequire(import.meta.url);",
  },
});
