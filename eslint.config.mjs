// ESLint flat config: typescript-eslint over the construct, the handler, the
// tests and the example app; type-aware rules where bugs cost the most (the
// published construct and the Lambda handler: floating promises, misused
// promises, unsafe any). Formatting is Prettier's job (`prettier --check .`),
// so no stylistic rules here.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** The globals of Node.js, for the few plain JavaScript files. */
const nodeGlobals = Object.fromEntries(
  [
    'Buffer',
    'URL',
    'AbortController',
    'AbortSignal',
    'clearTimeout',
    'console',
    'fetch',
    'performance',
    'process',
    'setTimeout',
  ].map((name) => [name, 'readonly']),
);
const commonJsGlobals = Object.fromEntries(
  ['__dirname', '__filename', 'exports', 'module', 'require'].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    ignores: [
      'node_modules/',
      'cdk.out/',
      '**/cdk.out/',
      'coverage/',
      'dist/',
      'assets/',
      'lib/**/*.js',
      '**/*.d.ts',
      '.jsii',
    ],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
      eqeqeq: ['error', 'always'],
      'no-console': 'off',
    },
  },
  {
    files: ['lib/**/*.ts', 'lambda/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonJsGlobals } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { sourceType: 'module', globals: nodeGlobals },
  },
);
