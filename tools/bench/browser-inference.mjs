#!/usr/bin/env node
// Browser inference benchmark (issue "Classification in the viewer", item 10). Prints numbers; not a test.
//
//   node tools/bench/browser-inference.mjs [--size 224] [--runs 20] [--series 32] [--json FILE]
//
// In headless Chromium (Debian /usr/bin/chromium or $SSCLNET_CHROMIUM), one page, one run:
//  - TensorFlow.js (the viewer's engine, same tfjs 4.22 UMD build) on the WebGL and wasm backends: model load
//    (fetch + build + first inference), warm per-slice latency (median of --runs single-slice predictions),
//    series throughput (--series slices one after another, as the panel's "Classify series" does);
//  - the same ResNet-18 (same random weights) exported to ONNX (tools/bench/export_onnx.py) run by
//    onnxruntime-web's wasm backend (the engine of @cornerstonejs/ai), same measurements;
//  - the ratio onnxruntime-web / tfjs-wasm warm latency (> 1: our path is faster).
// Model-only timings on the same preprocessed input (preprocessing is the same JS for both and excluded).
// The weights are random (no trained model exists yet): speed does not depend on them.
// Headless Chromium usually has only SwiftShader (software) WebGL: the WebGL figure is then a CPU figure,
// which is why the viewer picks wasm when the renderer is software (see extension/src/inference/backend.ts).
/* global tf, ort -- the page's UMD builds, used inside page.evaluate() */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const USAGE = `usage: node tools/bench/browser-inference.mjs [--size 224] [--runs 20] [--series 32] [--json FILE]
Browser inference benchmark in headless Chromium ($SSCLNET_CHROMIUM or /usr/bin/chromium): TensorFlow.js on WebGL and
wasm against onnxruntime-web on wasm, same random-weight ResNet-18. Prints numbers; not a test.
  --size N      model input size (default 224)
  --runs N      warm single-slice predictions per engine (default 20)
  --series N    slices in the series run (default 32)
  --json FILE   also write the results as JSON`;
const { values } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h' },
    size: { type: 'string', default: '224' },
    runs: { type: 'string', default: '20' },
    series: { type: 'string', default: '32' },
    json: { type: 'string' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const size = Number(values.size),
  runs = Number(values.runs),
  seriesN = Number(values.series);

function python(args) {
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(repo, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  return execFileSync('python3', args, { cwd: repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-bench-'));
let server, context;
try {
  const ckpt = path.join(work, 'random.pt');
  python(['-m', 'ssclnet.parity', 'random-checkpoint', '--out', ckpt, '--input-size', String(size), '--seed', '1']);
  python([
    '-m',
    'ssclnet.cli',
    'export',
    '--checkpoint',
    ckpt,
    '--out',
    path.join(work, 'tfjs'),
    '--version',
    'bench-random',
  ]);
  python([
    path.join(repo, 'tools', 'bench', 'export_onnx.py'),
    '--checkpoint',
    ckpt,
    '--out',
    path.join(work, 'model.onnx'),
  ]);
  const card = JSON.parse(fs.readFileSync(path.join(work, 'tfjs', 'model-card.json'), 'utf8'));

  const nm = path.join(repo, 'node_modules');
  const mounts = {
    '/tfjs/': path.join(nm, '@tensorflow', 'tfjs', 'dist'),
    '/tfjs-wasm/': path.join(nm, '@tensorflow', 'tfjs-backend-wasm', 'dist'),
    '/ort/': path.join(nm, 'onnxruntime-web', 'dist'),
    '/model/': work,
  };
  const types = {
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
    '.html': 'text/html',
  };
  server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      return res.end('<!doctype html><title>bench</title>');
    }
    const prefix = Object.keys(mounts).find((p) => url.startsWith(p));
    const file = prefix && path.resolve(mounts[prefix], url.slice(prefix.length));
    if (!file || !file.startsWith(mounts[prefix]) || !fs.existsSync(file)) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;

  const { chromium } = await import('playwright-core');
  const userDir = path.join(work, 'chromium');
  context = await chromium.launchPersistentContext(userDir, {
    executablePath: process.env.SSCLNET_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(600000);
  await page.goto(`${origin}/`);
  for (const s of ['/tfjs/tf.min.js', '/tfjs-wasm/tf-backend-wasm.min.js', '/ort/ort.min.js'])
    await page.addScriptTag({ url: s });

  const result = await page.evaluate(
    async ({ size, channels, runs, seriesN }) => {
      const median = (a) => {
        const s = [...a].sort((x, y) => x - y);
        return s[Math.floor(s.length / 2)];
      };
      const input = new Float32Array(size * size * channels).map((_, i) => Math.sin(i * 0.37));
      const out = { renderer: null, tfjs: {}, ort: {} };
      const gl = document.createElement('canvas').getContext('webgl2');
      const info = gl?.getExtension('WEBGL_debug_renderer_info');
      out.renderer = gl ? String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'none';
      tf.wasm.setWasmPaths('/tfjs-wasm/');
      for (const backend of ['wasm', 'webgl']) {
        try {
          if (!(await tf.setBackend(backend))) throw new Error('did not initialise');
          await tf.ready();
          const t0 = performance.now();
          const model = await tf.loadLayersModel('/model/tfjs/model.json');
          tf.tidy(() => model.predict(tf.zeros([1, size, size, channels])).dataSync());
          const loadMs = performance.now() - t0;
          const once = () => tf.tidy(() => model.predict(tf.tensor4d(input, [1, size, size, channels])).dataSync());
          for (let i = 0; i < 3; i++) once();
          const times = [];
          for (let i = 0; i < runs; i++) {
            const t = performance.now();
            once();
            times.push(performance.now() - t);
          }
          const s0 = performance.now();
          for (let i = 0; i < seriesN; i++) once();
          const seriesS = (performance.now() - s0) / 1000;
          out.tfjs[backend] = {
            loadMs,
            warmMedianMs: median(times),
            warmMinMs: Math.min(...times),
            seriesSlicesPerS: seriesN / seriesS,
          };
          model.dispose();
        } catch (e) {
          out.tfjs[backend] = { error: String((e && e.message) || e) };
        }
      }
      try {
        ort.env.wasm.wasmPaths = '/ort/';
        ort.env.wasm.numThreads = 1; // no cross-origin isolation in the viewer page either: one thread, as tfjs-wasm here
        const t0 = performance.now();
        const session = await ort.InferenceSession.create('/model/model.onnx', { executionProviders: ['wasm'] });
        const nchw = new ort.Tensor('float32', input.slice(), [1, channels, size, size]);
        const once = async () => (await session.run({ input: nchw })).probabilities.data;
        await once();
        const loadMs = performance.now() - t0;
        for (let i = 0; i < 3; i++) await once();
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await once();
          times.push(performance.now() - t);
        }
        const s0 = performance.now();
        for (let i = 0; i < seriesN; i++) await once();
        const seriesS = (performance.now() - s0) / 1000;
        out.ort.wasm = {
          loadMs,
          warmMedianMs: median(times),
          warmMinMs: Math.min(...times),
          seriesSlicesPerS: seriesN / seriesS,
          version: ort.env.versions?.web,
        };
      } catch (e) {
        out.ort.wasm = { error: String((e && e.message) || e) };
      }
      out.tfjsVersion = tf.version.tfjs;
      return out;
    },
    { size, channels: card.preprocess.channels, runs, seriesN },
  );

  const f = (x, d = 1) => (typeof x === 'number' ? x.toFixed(d) : 'n/a');
  console.log(
    `Browser inference benchmark: ResNet-18 ${size}x${size}x${card.preprocess.channels}, random weights, headless Chromium ${(await context.browser()?.version()) ?? ''}`,
  );
  console.log(
    `CPU: ${os.cpus()[0]?.model} x${os.cpus().length}; WebGL renderer: ${result.renderer}; tfjs ${result.tfjsVersion}; onnxruntime-web ${result.ort.wasm.version ?? '?'}`,
  );
  console.log('engine            load ms   warm median ms   warm min ms   series slices/s');
  const row = (name, r) =>
    console.log(
      r.error
        ? `${name.padEnd(17)} error: ${r.error}`
        : `${name.padEnd(17)} ${f(r.loadMs, 0).padStart(7)}   ${f(r.warmMedianMs).padStart(14)}   ${f(r.warmMinMs).padStart(11)}   ${f(r.seriesSlicesPerS, 2).padStart(15)}`,
    );
  row('tfjs webgl', result.tfjs.webgl);
  row('tfjs wasm', result.tfjs.wasm);
  row('ort-web wasm', result.ort.wasm);
  const ratio = result.ort.wasm.warmMedianMs / result.tfjs.wasm.warmMedianMs;
  const best = Math.min(...['webgl', 'wasm'].map((b) => result.tfjs[b].warmMedianMs ?? Infinity));
  console.log(
    `ratio onnxruntime-web / tfjs-wasm warm latency: ${f(ratio, 2)} (${ratio >= 1 ? 'ours at least as fast' : 'onnxruntime-web faster'})`,
  );
  console.log(`ratio onnxruntime-web / best tfjs backend: ${f(result.ort.wasm.warmMedianMs / best, 2)}`);
  if (values.json) {
    const tmp = `${values.json}.tmp`;
    fs.writeFileSync(
      tmp,
      JSON.stringify({ size, runs, series: seriesN, ...result, ratioOrtOverTfjsWasm: ratio }, null, 2) + '\n',
    );
    fs.renameSync(tmp, values.json);
  }
} finally {
  await context?.close();
  server?.close();
  fs.rmSync(work, { recursive: true, force: true });
}
