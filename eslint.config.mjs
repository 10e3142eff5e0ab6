// ESLint flat config: typescript-eslint's recommended rules over the TypeScript of lib/, bench/,
// test/ and scripts/ (`npm run lint`, part of `npm test`). Formatting is left to .editorconfig.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['dist/**', 'build/**', 'prebuilds/**', 'node_modules/**', 'demo-run/**', 'bench/results/**', 'native/**', 'lib/unicode-tables.ts'],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
    },
    rules: {
      // `_name` marks a value that is deliberately unused (a destructured field left out, a callback's argument).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none', ignoreRestSiblings: true }],
      // `require` only where it is deliberate (lazy loading in commands, optional dependencies); each says so with a comment.
      '@typescript-eslint/no-require-imports': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
      // Errors here are rewrapped sharp-style, with the file, the line and the cause's message in the
      // new message (what the user reads); attaching `cause` as well is left to a later pass.
      'preserve-caught-error': 'off',
      // Tests match printed tables, where runs of spaces are the layout being checked.
      'no-regex-spaces': 'off',
    },
  },
  {
    // Commands load their modules lazily on purpose: `model-distill --help` and a mistyped
    // command answer without loading the pipeline, the addon or onnxruntime.
    files: ['lib/commands/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['scripts/**/*.js'],
    extends: [js.configs.recommended],
    rules: { 'preserve-caught-error': 'off' },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'commonjs',
      globals: { require: 'readonly', module: 'writable', __dirname: 'readonly', __filename: 'readonly', process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', URL: 'readonly' },
    },
  },
);
