// Builds the extension and the mode as two ES modules that OHIF 3.13 imports by URL at run time
// (window.config.extensions / modes), and the inference engine the extension starts as a module Web Worker from
// the same folder. Output: dist/ssclnet-extension.js, dist/ssclnet-mode.js, dist/ssclnet-inference.js (+ tfjs's
// .wasm files, next to it).
const fs = require('node:fs');
const path = require('node:path');

// tfjs-backend-wasm fetches its .wasm binaries at run time: emit them next to the inference bundle (the extension's
// default wasmPaths is the folder it was loaded from) so the viewer needs no other host.
class EmitTfjsWasm {
  apply(compiler) {
    compiler.hooks.thisCompilation.tap('EmitTfjsWasm', (compilation) => {
      compilation.hooks.processAssets.tap(
        { name: 'EmitTfjsWasm', stage: compiler.webpack.Compilation.PROCESS_ASSETS_STAGE_ADDITIONAL },
        () => {
          const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
          for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.wasm'))) {
            compilation.emitAsset(file, new compiler.webpack.sources.RawSource(fs.readFileSync(path.join(dir, file))));
          }
        },
      );
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
    // Resolved at run time from the bundle's own URL (import.meta.url): the extension finds the inference bundle
    // and the .wasm files next to itself, wherever a site serves them.
    publicPath: 'auto',
    // One file per bundle: the host imports a single URL and has no chunk loader of ours.
    asyncChunks: false,
    clean: false,
  },
  resolve: {
    extensions: ['.ts', '.tsx', '.js', '.mjs'],
    // The emscripten codec builds (DICOM decoding) mention Node modules on a path the browser never takes.
    fallback: {
      fs: false,
      path: false,
      crypto: false,
      module: false,
      worker_threads: false,
      perf_hooks: false,
      os: false,
      url: false,
    },
  },
  module: {
    // tfjs-backend-wasm starts its pthread workers from the *source text* of this Emscripten factory
    // (`factory.toString()` into a blob: worker). Parsed, webpack would rewrite its Node-only require() calls
    // into calls of the bundle's own loader, a name that does not exist in that worker ("r is not defined").
    // Unparsed, the require() calls stay as written, behind Emscripten's ENVIRONMENT_IS_NODE checks.
    noParse: /tfjs-backend-wasm-threaded-simd\.js$/,
    rules: [
      {
        test: /\.tsx?$/,
        exclude: /node_modules/,
        use: {
          loader: 'ts-loader',
          options: { transpileOnly: true, compilerOptions: { noEmit: false, module: 'ESNext' } },
        },
      },
    ],
  },
  optimization: { splitChunks: false },
  performance: { hints: false },
});

module.exports = [
  // The extension: services, commands, panel. No TensorFlow.js in it (the inference bundle has it).
  common('ssclnet-extension', './extension/src/index.ts'),
  common('ssclnet-mode', './mode/src/index.ts'),
  // The inference engine: tfjs + the inference module; a module Web Worker by default, or imported on the page.
  {
    ...common('ssclnet-inference', './extension/src/engine/entry.ts'),
    plugins: [new EmitTfjsWasm()],
    optimization: {
      splitChunks: false,
      // The same blob: worker (see noParse) reads the factory's one outer variable behind
      // `typeof _scriptDir !== "undefined"`; terser's `typeofs` would rewrite that to `void 0 !== n`, which throws
      // in the worker where the (renamed) variable does not exist.
      minimizeOptions: { javascript: { compress: { passes: 2, typeofs: false } } },
    },
  },
];
