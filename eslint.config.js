// Flat config: typescript-eslint's recommended rules on src/ and test/.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='process'][property.name='env']",
          message: 'Read configuration through loadConfig(); only src/config may touch process.env.',
        },
      ],
    },
  },
  {
    files: ['src/config/**', 'src/cli/index.ts', 'test/**', 'bench/**', 'vitest.config.ts'],
    rules: { 'no-restricted-syntax': 'off' },
  },
  {
    // The console's one script runs in the browser, unbundled.
    files: ['src/http/ui/public/**/*.js'],
    languageOptions: { globals: globals.browser, sourceType: 'script' },
  },
);
