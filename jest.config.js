/** Unit and parity tests (Node). End-to-end browser tests have their own runner: see scripts/test-all.sh. */
const path = require('node:path');

const { ohifVersion } = require('./package.json').config;

module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/unit'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.tsx?$': [
      'ts-jest',
      {
        tsconfig: {
          module: 'commonjs',
          moduleResolution: 'node',
          jsx: 'react-jsx',
          esModuleInterop: true,
          target: 'ES2020',
          isolatedModules: true,
        },
      },
    ],
  },
  // @ohif/core is the release's prebuilt UMD bundle, fetched by scripts/setup.sh --viewer (not an npm dependency).
  moduleNameMapper: {
    '^@ohif/core$': path.join(__dirname, '.ohif', `core-${ohifVersion}`, 'dist', 'ohif-core.umd.js'),
  },
  testTimeout: 60000,
};
