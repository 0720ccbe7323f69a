#!/usr/bin/env node
/**
 * Benchmark (prints numbers; not a test): model load time and slice latency in headless Chromium.
 *   node tools/bench/browser-model-load.js <model or registry dir> [more dirs...]
 * Bundles extension/src/inference with webpack into a temporary folder, serves it, the model folders and the
 * tfjs wasm files from 127.0.0.1, and loads each model with backend 'auto' and then 'webgl'. Load = fetch over
 * localhost + SHA-256 + build + warm-up. Chromium: $CHROMIUM or /usr/bin/chromium.
 */
const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');

const webpack = require('webpack');
const { chromium } = require('playwright-core');

const REPO = path.resolve(__dirname, '..', '..');
const TYPES = {
  '.js': 'text/javascript',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
};

function bundle(out) {
  const entry = path.join(out, 'entry.ts');
  fs.writeFileSync(
    entry,
    `import { loadModel, classify } from ${JSON.stringify(path.join(REPO, 'extension', 'src', 'inference'))};\n(window as any).ssclnet = { loadModel, classify };\n`,
  );
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
    resolve: { extensions: ['.ts', '.js'] }, // tfjs 4.22 needs no Node fallbacks in webpack 5
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

const USAGE = `usage: node tools/bench/browser-model-load.js <model or registry dir> [more dirs...]
Model load time and slice latency in headless Chromium, backends 'auto' then 'webgl'. Prints numbers; not a test.`;

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) return console.log(USAGE);
  const dirs = args.map((d) => path.resolve(d));
  if (!dirs.length) throw new Error(USAGE);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-bench-'));
  const routes = { '/': out, '/wasm/': path.join(REPO, 'node_modules', '@tensorflow', 'tfjs-backend-wasm', 'dist') };
  dirs.forEach((d, i) => (routes[`/m${i}/`] = d));
  let server;
  let browser;
  try {
    await bundle(out);
    server = await serve(routes);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox'],
    });
    for (let i = 0; i < dirs.length; i++) {
      for (const backend of ['auto', 'webgl']) {
        const page = await browser.newPage();
        await page.goto(`http://127.0.0.1:${server.address().port}/`);
        const r = await page.evaluate(
          async ([url, backend]) => {
            const m = await window.ssclnet.loadModel({ url, backend, wasmPaths: '/wasm/' });
            const slice = {
              data: Uint8Array.from({ length: 256 * 256 }, (_, k) => (k * 31) % 251),
              width: 256,
              height: 256,
            };
            const ms = [];
            for (let k = 0; k < 5; k++) ms.push((await window.ssclnet.classify(m, slice)).ms);
            return {
              version: m.version,
              dtype: m.card.dtype,
              backend: m.backend,
              reason: m.backendReason,
              loadMs: m.loadMs,
              ms: ms.sort((a, b) => a - b)[2],
            };
          },
          [`/m${i}/`, backend],
        );
        console.log(
          `${r.version} (${r.dtype}) requested ${backend}: backend ${r.backend} [${r.reason}] load_ms ${r.loadMs.toFixed(0)} classify_ms(median of 5) ${r.ms.toFixed(0)}`,
        );
        await page.close();
      }
    }
  } finally {
    if (browser) await browser.close();
    if (server) server.close();
    fs.rmSync(out, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
