import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import html from 'eslint-plugin-html';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-output/**', '.node-red/**', '.demo/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'always'],
      // `import x = require()` is how TypeScript imports our `export =` node modules.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { ...globals.node } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // The editor side of each node: scripts inside the node .html files run in the browser.
    files: ['nodes/**/*.html'],
    plugins: { html },
    languageOptions: { globals: { ...globals.browser, RED: 'readonly', $: 'readonly' } },
    rules: {
      eqeqeq: ['error', 'always'],
      // `var node = this` is the editor's idiom for reaching the node inside jQuery callbacks.
      '@typescript-eslint/no-this-alias': 'off',
    },
  },
);
