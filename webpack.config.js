// Builds the extension and the mode as two ES modules that OHIF 3.13 imports by URL at run time
// (window.config.extensions / modes). Output: dist/ssclnet-extension.js, dist/ssclnet-mode.js.
const fs = require('node:fs');
const path = require('node:path');

// tfjs-backend-wasm fetches its .wasm binaries at run time: emit them next to the extension bundle (served under
// /plugins/, the extension's default wasmPaths) so the viewer needs no other host.
class EmitTfjsWasm {
  apply(compiler) {
    compiler.hooks.thisCompilation.tap('EmitTfjsWasm', (compilation) => {
      compilation.hooks.processAssets.tap({ name: 'EmitTfjsWasm', stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL }, () => {
        const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.wasm'))) {
          compilation.emitAsset(file, new compiler.webpack.sources.RawSource(fs.readFileSync(path.join(dir, file))));
        }
      });
    });
  }
}

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
  { ...common('ssclnet-extension', './extension/src/index.ts'), plugins: [new EmitTfjsWasm()] },
  common('ssclnet-mode', './mode/src/index.ts'),
];
