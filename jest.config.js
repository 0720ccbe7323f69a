/** Unit and parity tests (Node). End-to-end browser tests have their own runner: see scripts/test-all.sh. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/unit'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: { module: 'commonjs', moduleResolution: 'node', jsx: 'react-jsx', esModuleInterop: true, target: 'ES2020', isolatedModules: true } }],
  },
  testTimeout: 60000,
};
