#!/usr/bin/env node
/**
 * Benchmark (prints numbers; not a test): model load time and slice latency in headless Chromium.
 *   node tools/bench/browser-model-load.js <model or registry dir> [more dirs...]
 * Bundles extension/src/inference with webpack into a temporary folder, serves it, the model folders and the
 * tfjs wasm files from 127.0.0.1, and loads each model with backend 'auto' and then 'webgl'. Load = fetch over
 * localhost + SHA-256 + build + warm-up. Chromium: $CHROMIUM or /usr/bin/chromium.
 */
const path = require('node:path');

const { INFERENCE_SRC, withBenchBrowser } = require('./browser-harness');

const USAGE = `usage: node tools/bench/browser-model-load.js <model or registry dir> [more dirs...]
Model load time and slice latency in headless Chromium, backends 'auto' then 'webgl'. Prints numbers; not a test.`;

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) return console.log(USAGE);
  const dirs = args.map((d) => path.resolve(d));
  if (!dirs.length) throw new Error(USAGE);
  const routes = {};
  dirs.forEach((d, i) => (routes[`/m${i}/`] = d));
  const source = `import { loadModel, classify } from ${JSON.stringify(INFERENCE_SRC)};\n(window as any).ssclnet = { loadModel, classify };\n`;
  await withBenchBrowser({ source, routes }, async ({ browser, url: pageUrl }) => {
    for (let i = 0; i < dirs.length; i++) {
      for (const backend of ['auto', 'webgl']) {
        const page = await browser.newPage();
        await page.goto(pageUrl);
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
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
