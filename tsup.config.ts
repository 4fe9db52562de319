import { readFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as { version: string };

export default defineConfig({
  entry: {
    cli: 'commands/main.ts',
    demo: 'test/demo/main.ts',
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
  banner: { js: '#!/usr/bin/env node' },
});
