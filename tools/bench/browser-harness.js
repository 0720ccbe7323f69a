/**
 * What the headless-Chromium benchmarks (browser-model-load.js, bench-gradcam-browser.js) share: bundle an entry
 * written in TypeScript with webpack into a temporary folder, serve it, the tfjs wasm files and the model folders from
 * 127.0.0.1, open Chromium ($CHROMIUM or /usr/bin/chromium), and clean all of it up afterwards.
 */
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const webpack = require('webpack');
const { chromium } = require('playwright-core');

const REPO = path.resolve(__dirname, '..', '..');
const INFERENCE_SRC = path.join(REPO, 'extension', 'src', 'inference');
const WASM_DIR = path.join(REPO, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist');
const TYPES = {
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

/** Bundles `source` (TypeScript) into <out>/bundle.js; `fallback`: webpack resolve.fallback, if any. */
function bundle(out, source, fallback) {
  const entry = path.join(out, 'entry.ts');
  fs.writeFileSync(entry, source);
  fs.writeFileSync(
    path.join(out, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2020',
        module: 'esnext',
        moduleResolution: 'node',
        skipLibCheck: true,
        esModuleInterop: true,
      },
    }),
  );
  const config = {
    mode: 'production',
    entry,
    output: { path: out, filename: 'bundle.js' },
    // tfjs 4.22 needs no Node fallbacks in webpack 5; a bundle that names Node modules passes its own.
    resolve: { extensions: ['.ts', '.js'], ...(fallback ? { fallback } : {}) },
    resolveLoader: { modules: [path.join(REPO, 'node_modules')] },
    module: {
      rules: [
        {
          test: /\.ts$/,
          loader: 'ts-loader',
          options: { transpileOnly: true, configFile: path.join(out, 'tsconfig.json') },
        },
      ],
    },
    performance: { hints: false },
  };
  return new Promise((resolve, reject) =>
    webpack(config, (err, stats) =>
      err || stats.hasErrors() ? reject(err || new Error(stats.toString('errors-only'))) : resolve(),
    ),
  );
}

/** Static files by URL prefix (longest first); '/' answers a page that loads /bundle.js. */
function serve(routes) {
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    if (url === '/')
      return (res.writeHead(200, { 'content-type': 'text/html' }), res.end('<script src="/bundle.js"></script>'));
    const prefix = Object.keys(routes)
      .sort((a, b) => b.length - a.length)
      .find((p) => url.startsWith(p));
    const file = prefix && path.join(routes[prefix], url.slice(prefix.length));
    fs.readFile(file || '', (err, data) => {
      if (err) return (res.writeHead(404), res.end());
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
      res.end(data);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Bundles `source`, serves it at '/', the tfjs wasm files at '/wasm/' and `routes` (URL prefix -> folder), starts
 * headless Chromium and calls `run({ browser, url })` (url: the page that loads the bundle); then stops everything.
 * `tmpPrefix` names the temporary folder; `fallback` is passed to webpack's resolve.fallback.
 */
async function withBenchBrowser({ source, routes = {}, tmpPrefix = 'ssclnet-bench-', fallback }, run) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), tmpPrefix));
  let server;
  let browser;
  try {
    await bundle(out, source, fallback);
    server = await serve({ '/': out, '/wasm/': WASM_DIR, ...routes });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox'],
    });
    return await run({ browser, url: `http://127.0.0.1:${server.address().port}/` });
  } finally {
    if (browser) await browser.close();
    if (server) server.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

module.exports = { REPO, INFERENCE_SRC, withBenchBrowser };
