#!/usr/bin/env node
/**
 * Benchmark (prints numbers; not a test): Grad-CAM time per slice next to the forward pass in headless Chromium,
 * same page, same slices, calls alternating. The Node twin is tools/bench/bench-gradcam.ts.
 *   node tools/bench/bench-gradcam-browser.js [--model models] [--runs 20] [--backends wasm,webgl] [--worker]
 * --worker runs everything (load, forward, Grad-CAM) in a dedicated Web Worker, as the viewer does: no DOM there.
 * Bundles extension/src/inference/{classifier,gradcam}.ts with webpack into a temporary folder, serves it, the model
 * and the tfjs wasm files from 127.0.0.1. Inputs: the model's parity inputs (preprocessed real slices). When
 * tests/fixtures/gradcam was made for the same model version, it also prints the heatmaps' max |d| from PyTorch's.
 * Chromium: $CHROMIUM or /usr/bin/chromium. Headless Chromium has only SwiftShader (software) WebGL.
 */
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const { INFERENCE_SRC, REPO, withBenchBrowser } = require('./browser-harness');

const USAGE = `usage: node tools/bench/bench-gradcam-browser.js [--model <registry|model dir>] [--runs 20] [--backends wasm,webgl] [--worker]
Grad-CAM time per slice next to the forward pass in headless Chromium (on the page, or in a Web Worker with
--worker). Prints numbers; not a test.`;

// The measurement, compiled into the bundle so that it runs the same on the page and in a Web Worker.
const BENCH = `
async function bench(backend: string, runs: number) {
  const m = await loadModel({ url: '/m/', backend: backend as any, wasmPaths: '/wasm/' });
  const isRegistry = (await fetch('/m/models.json')).ok;
  const buf = await (await fetch('/m/' + (isRegistry ? m.version + '/' : '') + 'parity/inputs.bin')).arrayBuffer();
  const all = new Float32Array(buf);
  const { input_size: size, channels } = m.card.preprocess;
  const per = size * size * channels;
  const n = all.length / per;
  const slice = (i: number) => all.slice((i % n) * per, ((i % n) + 1) * per);
  for (let i = 0; i < 2; i++) {
    await forward(m, slice(i), 1);
    await gradcam(m, slice(i));
  }
  const fwd: number[] = [];
  const cam: number[] = [];
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    await forward(m, slice(r), 1);
    fwd.push(performance.now() - t);
    t = performance.now();
    await gradcam(m, slice(r));
    cam.push(performance.now() - t);
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const heatmaps: number[][] = [];
  for (let i = 0; i < n; i++) heatmaps.push(Array.from((await gradcam(m, slice(i))).heatmap));
  const worker = typeof (globalThis as any).document === 'undefined';
  return { version: m.version, dtype: m.card.dtype, backend: m.backend, reason: m.backendReason, size, worker, heatmaps,
    fwd: med(fwd), cam: med(cam), pair: med(cam.map((v, i) => v / fwd[i])) };
}
const g = globalThis as any;
g.ssclnet = { bench };
if (typeof (globalThis as any).window === 'undefined') {
  g.onmessage = async (e: any) => {
    try {
      g.postMessage(await bench(e.data[0], e.data[1]));
    } catch (err: any) {
      g.postMessage({ error: String((err && err.stack) || err) });
    }
  };
}
`;

async function main() {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      runs: { type: 'string' },
      backends: { type: 'string' },
      worker: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return console.log(USAGE);
  const root = path.resolve(values.model ?? path.join(REPO, 'models'));
  const runs = Number(values.runs ?? 20);
  const source =
    `import { loadModel, forward } from ${JSON.stringify(path.join(INFERENCE_SRC, 'classifier'))};\n` +
    `import { gradcam } from ${JSON.stringify(path.join(INFERENCE_SRC, 'gradcam'))};\n` +
    BENCH;
  const options = {
    source,
    routes: { '/m/': root },
    tmpPrefix: 'ssclnet-bench-gradcam-',
    fallback: { fs: false, path: false },
  };
  await withBenchBrowser(options, async ({ browser, url: pageUrl }) => {
    for (const backend of (values.backends ?? 'wasm,webgl').split(',')) {
      const page = await browser.newPage();
      await page.goto(pageUrl);
      const r = await page.evaluate(
        ([backend, runs, worker]) =>
          worker
            ? new Promise((resolve, reject) => {
                const w = new Worker('/bundle.js');
                w.onmessage = (e) => (e.data && e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
                w.onerror = (e) => reject(new Error(e.message));
                w.postMessage([backend, runs]);
              })
            : window.ssclnet.bench(backend, runs),
        [backend, runs, Boolean(values.worker)],
      );
      console.log(
        `${r.version} (${r.dtype}, ${r.size}x${r.size}) ${r.worker ? 'in a Web Worker' : 'on the page'}, requested ${backend}: ` +
          `backend ${r.backend} [${r.reason}] forward_ms ${r.fwd.toFixed(1)} gradcam_ms ${r.cam.toFixed(1)} ` +
          `(medians of ${runs}; gradcam/forward ${(r.cam / r.fwd).toFixed(2)}x, per-slice pairs ${r.pair.toFixed(2)}x)`,
      );
      // Agreement with PyTorch (tests/fixtures/gradcam) when the fixture was made for this model version.
      const fx = path.join(REPO, 'tests', 'fixtures', 'gradcam');
      const meta = JSON.parse(fs.readFileSync(path.join(fx, 'gradcam.json'), 'utf8'));
      if (meta.model_version === r.version) {
        const u8 = fs.readFileSync(path.join(fx, 'heatmaps.u8.bin'));
        const px = r.size * r.size;
        let worst = 0;
        r.heatmaps.forEach((h, i) =>
          h.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - u8[i * px + j] / 255)))),
        );
        console.log(
          `  heatmaps vs PyTorch (tests/fixtures/gradcam, ${r.heatmaps.length} parity inputs): max |d| ${worst.toFixed(4)}`,
        );
      }
      await page.close();
    }
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
