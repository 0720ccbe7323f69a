// ESLint (flat config) for the TypeScript and JavaScript of the repository; Prettier owns the layout, so only
// rules about meaning are on (the recommended sets of ESLint, typescript-eslint and React hooks).
// `npm run lint` checks; `npm run format` rewrites (Prettier, then `eslint --fix` for the few fixable rules).
import js from '@eslint/js';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: [
      '**/node_modules/',
      'dist/',
      '.ohif/',
      '.cache/',
      'build/',
      'runs/',
      'test-artifacts/',
      'models/',
      'trainer/',
      'tests/fixtures/',
      'demo/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // `_name` marks a deliberately unused argument or binding.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  // The viewer side: extension and mode run in the browser (and in workers).
  {
    files: ['extension/src/**/*.{ts,tsx}', 'mode/src/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser, ...globals.worker } },
  },
  {
    files: ['extension/src/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: reactHooks.configs.recommended.rules,
  },
  // Node side: server, PACS helpers, tools, tests (the e2e tests and benchmarks also run code in the page).
  {
    files: [
      'server/**',
      'pacs/**',
      'scripts/**',
      'tools/**',
      'tests/**',
      '*.{js,mjs,cjs}',
      'extension/src/inference/node/**',
    ],
    languageOptions: { globals: { ...globals.node } },
  },
  // Test doubles (stubs of OHIF and Cornerstone objects) are typed loosely on purpose.
  { files: ['tests/**'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  {
    files: ['tests/e2e/**', 'tools/bench/**'],
    languageOptions: { globals: { ...globals.browser } },
  },
  // CommonJS files (webpack, jest, the browser model-load benchmark).
  {
    files: ['**/*.{js,cjs}'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
