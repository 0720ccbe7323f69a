#!/usr/bin/env node
// Browser inference benchmark (issue 16): one run, side by side, in headless Chromium on this machine.
//
//   npm run bench:browser -- [--model DIR] [--runs 30] [--series 50] [--json FILE]
//
// The same exported model for every engine: the registry's latest (models/<latest>, the shipped input size) as
// TensorFlow.js, and the same weights as ONNX (tools/bench/export_onnx.py --artifact, which reads the tfjs
// artifact itself). Engines (model-only: the same preprocessed input, preprocessing excluded):
//   tfjs wasm threads  - cross-origin isolated page (COOP/COEP), threaded SIMD build, one thread per core
//   tfjs wasm single   - a page that is not isolated (no SharedArrayBuffer): SIMD build, one thread
//   tfjs webgl         - WebGL (headless Chromium: SwiftShader, i.e. software; a CPU figure)
//   ort-web wasm thr.  - onnxruntime-web's wasm backend, numThreads = cores, isolated page
// For each: cold start -> first result (fetch + build + first inference), warm per-slice latency p50/p95 (--runs
// single-slice runs after 3 warm-ups), whole-series throughput (--series slices one after another), model bytes
// fetched. Then the viewer's own path (dist/ssclnet-inference.js as a module Web Worker: registry, SHA-256 checks,
// gates): cold start -> first classified slice with an empty cache and again with a warm Cache Storage, bytes fetched,
// and per-slice latency through the worker. Prints a table; --json writes everything.
/* global tf, ort -- the page's UMD builds, used inside page.evaluate() */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const USAGE = `usage: npm run bench:browser -- [--model DIR] [--runs 30] [--series 50] [--json FILE]
Side-by-side browser inference benchmark in headless Chromium ($SSCLNET_CHROMIUM or /usr/bin/chromium): tfjs (wasm
threads, wasm single, WebGL) and onnxruntime-web (wasm threads) on the same model, plus the viewer's worker path
(cold start with an empty and a warm model cache). Needs \`npm run build\` (dist/) and Python with torch + onnx.
  --model DIR   a published model folder (default: the registry's latest in models/)
  --runs N      warm single-slice runs per engine for p50/p95 (default 30)
  --series N    slices in the whole-series run (default 50)
  --json FILE   also write the results as JSON`;
const { values } = parseArgs({
  options: {
    help: { type: 'boolean', short: 'h' },
    model: { type: 'string' },
    runs: { type: 'string', default: '30' },
    series: { type: 'string', default: '50' },
    json: { type: 'string' },
  },
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const runs = Number(values.runs);
const seriesN = Number(values.series);
if (!(runs >= 5 && seriesN >= 1)) {
  console.error('browser-inference: --runs must be >= 5 and --series >= 1 (see --help)');
  process.exit(2);
}
const registryDir = path.join(repo, 'models');
const registry = JSON.parse(fs.readFileSync(path.join(registryDir, 'models.json'), 'utf8'));
const modelDir = path.resolve(values.model ?? path.join(registryDir, registry.latest));
const card = JSON.parse(fs.readFileSync(path.join(modelDir, 'model-card.json'), 'utf8'));
const { input_size: size, channels } = card.preprocess;
for (const f of ['ssclnet-inference.js', 'tfjs-backend-wasm-threaded-simd.wasm']) {
  if (!fs.existsSync(path.join(repo, 'dist', f))) {
    console.error(`browser-inference: dist/${f} is missing; run npm run build first`);
    process.exit(2);
  }
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-bench-'));
let server, context;
try {
  const onnxFile = path.join(work, 'model.onnx');
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(repo, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  execFileSync(
    'python3',
    [path.join(repo, 'tools', 'bench', 'export_onnx.py'), '--artifact', modelDir, '--out', onnxFile],
    {
      cwd: repo,
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );

  const nm = path.join(repo, 'node_modules');
  const mounts = {
    '/tfjs/': path.join(nm, '@tensorflow', 'tfjs', 'dist'),
    '/tfjs-wasm/': path.join(nm, '@tensorflow', 'tfjs-backend-wasm', 'dist'),
    '/ort/': path.join(nm, 'onnxruntime-web', 'dist'),
    '/model/': modelDir,
    '/onnx/': work,
    '/plugins/': path.join(repo, 'dist'),
    '/models/': registryDir,
  };
  const types = {
    '.js': 'text/javascript',
    '.mjs': 'text/javascript',
    '.wasm': 'application/wasm',
    '.json': 'application/json',
    '.bin': 'application/octet-stream',
    '.onnx': 'application/octet-stream',
  };
  let served = 0; // bytes of model files sent (tfjs shards/model.json, registry files, .onnx)
  server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url.split('?')[0]);
    // Everything is isolated (COOP/COEP) except the /plain/ page, which stands for a viewer without the headers.
    const headers = { 'cross-origin-resource-policy': 'same-origin', 'cache-control': 'no-cache' };
    if (!url.startsWith('/plain/'))
      Object.assign(headers, {
        'cross-origin-opener-policy': 'same-origin',
        'cross-origin-embedder-policy': 'require-corp',
      });
    if (url === '/' || url === '/plain/') {
      res.writeHead(200, { ...headers, 'content-type': 'text/html' });
      return res.end('<!doctype html><title>bench</title>');
    }
    const prefix = Object.keys(mounts).find((p) => url.startsWith(p));
    const file = prefix && path.resolve(mounts[prefix], url.slice(prefix.length));
    if (!file || !file.startsWith(mounts[prefix]) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404, headers);
      return res.end();
    }
    const size = fs.statSync(file).size;
    if (['/model/', '/onnx/', '/models/'].includes(prefix)) served += size;
    res.writeHead(200, {
      ...headers,
      'content-type': types[path.extname(file)] ?? 'application/octet-stream',
      'content-length': size,
    });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const origin = `http://127.0.0.1:${server.address().port}`;

  const { chromium } = await import('playwright-core');
  context = await chromium.launchPersistentContext(path.join(work, 'chromium'), {
    executablePath: process.env.SSCLNET_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-background-networking', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
  });
  const browserVersion =
    context.browser()?.version() ?? (await (await context.newPage()).evaluate(() => navigator.userAgent));

  async function openPage(url) {
    const page = await context.newPage();
    page.setDefaultTimeout(900000);
    await page.goto(url);
    for (const s of ['/tfjs/tf.min.js', '/tfjs-wasm/tf-backend-wasm.min.js', '/ort/ort.min.js'])
      await page.addScriptTag({ url: s });
    return page;
  }

  /** One engine in one page: load (cold start -> first result), warm p50/p95, series throughput, output. */
  async function measure(page, engine) {
    const before = served;
    const r = await page.evaluate(
      async ({ engine, size, channels, runs, seriesN }) => {
        const pct = (a, q) => {
          const s = [...a].sort((x, y) => x - y);
          return s[Math.min(s.length - 1, Math.floor(q * s.length))];
        };
        const input = new Float32Array(size * size * channels).map((_, i) => Math.sin(i * 0.37) * 0.5 + 0.5);
        let once;
        let info = {};
        const t0 = performance.now();
        if (engine.startsWith('tfjs')) {
          const backend = engine === 'tfjs-webgl' ? 'webgl' : 'wasm';
          tf.wasm.setWasmPaths('/tfjs-wasm/');
          if (engine === 'tfjs-wasm-threads') {
            // As the engine does (extension/src/engine/runtime.ts): one thread per logical core; tfjs grants
            // min(requested, hardwareConcurrency / 2), so it is shown twice the count it is asked for.
            const n = navigator.hardwareConcurrency;
            Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * n, configurable: true });
            tf.wasm.setThreadsCount(n);
          }
          if (!(await tf.setBackend(backend))) throw new Error(`${backend} did not initialise`);
          await tf.ready();
          const model = await tf.loadLayersModel('/model/model.json');
          once = () => tf.tidy(() => model.predict(tf.tensor4d(input, [1, size, size, channels])).dataSync());
          if (backend === 'wasm') {
            info = {
              threads: tf.wasm.getThreadsCount(),
              simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
              threaded: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
            };
          } else {
            const gl = document.createElement('canvas').getContext('webgl2');
            const ext = gl?.getExtension('WEBGL_debug_renderer_info');
            info = { renderer: gl ? String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER)) : 'none' };
          }
        } else {
          ort.env.wasm.wasmPaths = '/ort/';
          ort.env.wasm.numThreads = engine === 'ort-wasm-threads' ? navigator.hardwareConcurrency : 1;
          const session = await ort.InferenceSession.create('/onnx/model.onnx', {
            executionProviders: ['wasm'],
            graphOptimizationLevel: 'all',
          });
          // NHWC -> NCHW (one channel for the shipped model: the same order)
          const nchw = new Float32Array(input.length);
          for (let c = 0; c < channels; c++)
            for (let i = 0; i < size * size; i++) nchw[c * size * size + i] = input[i * channels + c];
          const feeds = { input: new ort.Tensor('float32', nchw, [1, channels, size, size]) };
          once = async () => (await session.run(feeds)).probabilities.data;
          info = { threads: ort.env.wasm.numThreads, version: ort.env.versions?.web };
        }
        const output = Array.from(await once());
        const coldMs = performance.now() - t0;
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
        return {
          ...info,
          crossOriginIsolated: self.crossOriginIsolated,
          coldMs,
          p50Ms: pct(times, 0.5),
          p95Ms: pct(times, 0.95),
          seriesSlicesPerS: seriesN / seriesS,
          output,
        };
      },
      { engine, size, channels, runs, seriesN },
    );
    return { ...r, modelBytesFetched: served - before };
  }

  const engines = {};
  const run = async (name, url) => {
    const page = await openPage(url);
    try {
      engines[name] = await measure(page, name);
    } catch (e) {
      engines[name] = { error: String(e?.message ?? e) };
    } finally {
      await page.close();
    }
    const r = engines[name];
    console.error(`  ${name}: ${r.error ? `error ${r.error}` : `p50 ${r.p50Ms.toFixed(1)} ms`}`);
  };
  console.error('measuring (model-only, one page per engine)...');
  await run('tfjs-wasm-threads', `${origin}/`);
  await run('tfjs-wasm-single', `${origin}/plain/`);
  await run('ort-wasm-threads', `${origin}/`);
  await run('tfjs-webgl', `${origin}/`);

  // The viewer's own path: the inference bundle as a module worker, the registry with SHA-256 checks, the gates.
  console.error('measuring the viewer engine (worker, registry, cache)...');
  const vpage = await context.newPage();
  vpage.setDefaultTimeout(900000);
  await vpage.goto(`${origin}/`);
  const viewerRuns = [];
  for (const label of ['empty cache', 'warm cache']) {
    const before = served;
    const r = await vpage.evaluate(
      async ({ size, runs, seriesN, origin }) => {
        const w = new Worker('/plugins/ssclnet-inference.js', { type: 'module', name: 'ssclnet-inference' });
        let id = 0;
        const pending = new Map();
        w.onerror = (e) => {
          for (const p of pending.values()) p.reject(new Error(e.message || 'the worker failed'));
          pending.clear();
        };
        w.onmessage = (e) => {
          const p = pending.get(e.data.id);
          pending.delete(e.data.id);
          if (e.data.ok) p.resolve(e.data.result);
          else p.reject(new Error(e.data.error));
        };
        const call = (method, args) =>
          new Promise((resolve, reject) => {
            const msg = { id: ++id, method, args };
            pending.set(msg.id, { resolve, reject });
            w.postMessage(msg);
          });
        const n = 256;
        const data = new Uint16Array(n * n).map((_, i) =>
          Math.round(800 + 700 * Math.sin((i % n) * 0.05) * Math.cos(Math.floor(i / n) * 0.04)),
        );
        const attributes = {
          Modality: 'MR',
          ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
          PhotometricInterpretation: 'MONOCHROME2',
        };
        const slice = () => ({ slice: { data: data.slice(), width: n, height: n }, attributes });
        const t0 = performance.now();
        const info = await call('load', {
          registryUrl: `${origin}/models`,
          backend: 'auto',
          wasmPaths: `${origin}/plugins/`,
        });
        const loadMs = performance.now() - t0;
        const first = await call('classify', slice());
        const firstMs = performance.now() - t0;
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          await call('classify', slice());
          times.push(performance.now() - t);
        }
        const s0 = performance.now();
        for (let i = 0; i < seriesN; i++) await call('classify', slice());
        const seriesS = (performance.now() - s0) / 1000;
        w.terminate();
        const pct = (a, q) => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(q * a.length))];
        return {
          version: info.version,
          runtime: info.runtime,
          loadMs,
          firstResultMs: firstMs,
          p50Ms: pct(times, 0.5),
          p95Ms: pct(times, 0.95),
          seriesSlicesPerS: seriesN / seriesS,
          declined: first.outOfRange?.stage ?? null,
          inputSize: size,
        };
      },
      { size, runs, seriesN, origin },
    );
    viewerRuns.push({ cache: label, ...r, modelBytesServed: served - before });
    console.error(
      `  viewer engine, ${label}: first result ${r.firstResultMs.toFixed(0)} ms, ${r.runtime?.modelBytesFetched} model bytes fetched`,
    );
  }
  await vpage.close();

  // The same model in every engine: the outputs agree (ONNX has no temperature: raw softmax, as tfjs's output layer).
  const ref = engines['tfjs-wasm-single']?.output;
  for (const r of Object.values(engines)) {
    if (ref && r.output) r.maxAbsDiffVsTfjsWasm = Math.max(...r.output.map((v, i) => Math.abs(v - ref[i])));
  }

  const f = (x, d = 1) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const mb = (b) => (typeof b === 'number' ? (b / 1e6).toFixed(1) : 'n/a');
  const lines = [];
  lines.push(
    `Model ${card.version} (${card.dtype ?? 'float32'} weights), input ${size}x${size}x${channels}; headless Chromium ${browserVersion}; ${os.cpus()[0]?.model} x${os.cpus().length}; ` +
      `tfjs ${engines['tfjs-wasm-single']?.error ? '?' : '4.22'}; onnxruntime-web ${engines['ort-wasm-threads']?.version ?? '?'}; WebGL renderer: ${engines['tfjs-webgl']?.renderer ?? 'n/a'}`,
  );
  lines.push('');
  lines.push(
    '| engine | threads | cold start → first result (ms) | warm p50 (ms) | warm p95 (ms) | series (slices/s, n=' +
      seriesN +
      ') | model MB fetched | max abs diff vs tfjs wasm |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  const names = {
    'tfjs-wasm-threads': 'tfjs wasm SIMD + threads (isolated)',
    'tfjs-wasm-single': 'tfjs wasm SIMD, single thread (not isolated)',
    'tfjs-webgl': 'tfjs WebGL',
    'ort-wasm-threads': 'onnxruntime-web wasm + threads (isolated)',
  };
  for (const key of ['tfjs-wasm-threads', 'tfjs-wasm-single', 'tfjs-webgl', 'ort-wasm-threads']) {
    const r = engines[key];
    if (r.error) lines.push(`| ${names[key]} | | error: ${r.error} | | | | | |`);
    else
      lines.push(
        `| ${names[key]} | ${r.threads ?? '-'} | ${f(r.coldMs, 0)} | ${f(r.p50Ms)} | ${f(r.p95Ms)} | ${f(r.seriesSlicesPerS, 1)} | ${mb(r.modelBytesFetched)} | ${r.maxAbsDiffVsTfjsWasm === undefined ? '-' : r.maxAbsDiffVsTfjsWasm.toExponential(1)} |`,
      );
  }
  for (const v of viewerRuns) {
    lines.push(
      `| viewer engine (worker: registry, SHA-256, gates), ${v.cache}: ${v.runtime?.label ?? '?'} | ${v.runtime?.threads ?? '-'} | ${f(v.firstResultMs, 0)} (model ready ${f(v.loadMs, 0)}) | ${f(v.p50Ms)} | ${f(v.p95Ms)} | ${f(v.seriesSlicesPerS, 1)} | ${mb(v.runtime?.modelBytesFetched)} | - |`,
    );
  }
  const best = Math.min(
    ...['tfjs-wasm-threads', 'tfjs-wasm-single', 'tfjs-webgl'].map((k) => engines[k]?.p50Ms ?? Infinity),
  );
  const ortP50 = engines['ort-wasm-threads']?.p50Ms;
  const ratio = best / ortP50;
  const warm = viewerRuns.find((v) => v.cache === 'warm cache');
  lines.push('');
  lines.push(
    `Per slice, best tfjs / onnxruntime-web (p50): ${f(ratio, 2)}x (target <= 0.8: ${ratio <= 0.8 ? 'met' : 'not met'}). ` +
      `Viewer cold start -> first classified slice with a warm cache: ${f(warm?.firstResultMs, 0)} ms (target <= 2000: ${warm?.firstResultMs <= 2000 ? 'met' : 'not met'}), ` +
      `${mb(warm?.runtime?.modelBytesFetched)} MB of model fetched.`,
  );
  console.log(lines.join('\n'));
  if (values.json) {
    for (const r of Object.values(engines)) delete r.output;
    const out = {
      date: new Date().toISOString(),
      model: card.version,
      dtype: card.dtype,
      inputSize: size,
      channels,
      runs,
      series: seriesN,
      browser: browserVersion,
      cpu: `${os.cpus()[0]?.model} x${os.cpus().length}`,
      engines,
      viewer: viewerRuns,
      ratioBestTfjsOverOrt: ratio,
      table: lines.join('\n'),
    };
    fs.writeFileSync(`${values.json}.tmp`, JSON.stringify(out, null, 2) + '\n');
    fs.renameSync(`${values.json}.tmp`, values.json);
  }
} finally {
  await context?.close();
  server?.close();
  fs.rmSync(work, { recursive: true, force: true });
}
