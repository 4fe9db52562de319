// ESLint: typescript-eslint's recommended rules, React's hooks rules for the
// console (components/), and a few choices of this codebase, each said why.
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'build/', 'node_modules/', '.dist-new-*/', '.build-new-*/', '.demo-data/'] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    files: ['components/**/*.{ts,tsx}', 'test/ui/**/*.{ts,tsx}'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      'react-hooks/rules-of-hooks': 'error',
      'react-hooks/exhaustive-deps': 'error',
      // Two React Compiler rules off: the console is not compiled by it, and
      // App reads refs in render on purpose (the table window keeps its top
      // row between frames; the last filter that parsed stays in force), and
      // sets state from effects that watch the connection and the clock.
      'react-hooks/refs': 'off',
      'react-hooks/set-state-in-effect': 'off',
    },
  },
  {
    languageOptions: {
      ecmaVersion: 2023,
      sourceType: 'module',
      globals: { process: 'readonly', console: 'readonly', URL: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Finding control characters is part of the job (sanitize, config, ids,
      // glyphs, the hostile-data tests): every such regex is deliberate.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read the bin's JSON back without declaring its whole shape: the assertions check it.
    files: ['test/**/*.{ts,tsx}', 'bench/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
