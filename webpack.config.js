// Builds the extension and the mode as two ES modules that OHIF 3.13 imports by URL at run time
// (window.config.extensions / modes). Output: dist/ssclnet-extension.js, dist/ssclnet-mode.js.
const path = require('node:path');

const common = (name, entry) => ({
  name,
  entry,
  target: 'web',
  devtool: false,
  experiments: { outputModule: true },
  output: {
    path: path.resolve(__dirname, 'dist'),
    filename: `${name}.js`,
    library: { type: 'module' },
    module: true,
    chunkFormat: 'module',
    // One file per bundle: the host imports a single URL and has no chunk loader of ours.
    asyncChunks: false,
    clean: false,
  },
  resolve: { extensions: ['.ts', '.tsx', '.js', '.mjs'] },
  module: {
    rules: [
      {
        test: /\.tsx?$/,
        exclude: /node_modules/,
        use: { loader: 'ts-loader', options: { transpileOnly: true, compilerOptions: { noEmit: false, module: 'ESNext' } } },
      },
    ],
  },
  optimization: { splitChunks: false },
  performance: { hints: false },
});

module.exports = [
  common('ssclnet-extension', './extension/src/index.ts'),
  common('ssclnet-mode', './mode/src/index.ts'),
];
