/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // One temporary directory per run, removed at the end (see the file).
  globalSetup: '<rootDir>/test/support/temp-dir-setup.cjs',
  globalTeardown: '<rootDir>/test/support/temp-dir-teardown.cjs',
  // No test reaches AWS, even one that forgets a mock (see the file).
  setupFiles: ['<rootDir>/test/support/no-real-aws.cjs'],
  // Prefer the TypeScript sources over the compiled lib/*.js next to them.
  moduleFileExtensions: ['ts', 'js', 'cjs', 'json'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  collectCoverage: true,
  collectCoverageFrom: ['lib/**/*.ts', 'lambda/**/*.ts', '!**/*.d.ts'],
  coverageReporters: ['text-summary', 'lcov'],
  coverageThreshold: {
    './lib/': { lines: 90 },
    './lambda/': { lines: 95 },
  },
};
