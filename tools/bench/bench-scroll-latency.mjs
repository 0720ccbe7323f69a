#!/usr/bin/env node
// Scroll-frame latency in the real viewer while a whole series is classified: inference in the Web Worker (the
// default) against inference on the page's main thread (configuration `inference: 'main'`), same run.
//
// It starts the viewer server (server/serve.mjs, the shipped model registry), opens OHIF in headless Chromium on a
// series of >= 50 real slices (built now from ../shared/data/dicom/<series>: a dicomjson manifest generated here
// and served through the browser's request routing; nothing is written to the repository), loads every slice once,
// then for each mode: presses "Classify series" and scrolls the stack up and down, one notch every --interval ms,
// until the run ends. Latency of a notch = time from when it was due to the first frame that shows a new slice
// (Cornerstone's IMAGE_RENDERED, then the next animation frame): time the main thread spends busy with inference
// counts for every notch it delays. Prints p50/p95 (and an idle baseline) per mode; --json FILE writes them.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import dicomParser from 'dicom-parser';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const USAGE = `usage: node tools/bench/bench-scroll-latency.mjs [options]

  --series NAME     folder under ../shared/data/dicom (default adi-t2-axial, 55 slices; studyforrest-t1w has 96)
  --data DIR        another folder of one series' DICOM files (overrides --series)
  --interval MS     time between scroll steps (default 60)
  --idle-steps N    scroll steps for the idle baseline (default 60)
  --modes LIST      worker,main (default both, in that order)
  --models DIR      model registry (default: the repository's models/)
  --chromium PATH   browser (default $SSCLNET_CHROMIUM or /usr/bin/chromium)
  --json FILE       write the figures as JSON
  -h, --help        this text`;

const { values: opt } = parseArgs({
  options: {
    series: { type: 'string', default: 'adi-t2-axial' },
    data: { type: 'string' },
    interval: { type: 'string', default: '60' },
    'idle-steps': { type: 'string', default: '60' },
    modes: { type: 'string', default: 'worker,main' },
    models: { type: 'string' },
    chromium: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (opt.help) {
  console.log(USAGE);
  process.exit(0);
}
const dataDir = path.resolve(opt.data ?? path.join(repo, '..', 'shared', 'data', 'dicom', opt.series));
const interval = Number(opt.interval);
const idleSteps = Number(opt['idle-steps']);
const modes = opt.modes
  .split(',')
  .map((m) => m.trim())
  .filter(Boolean);
if (!fs.existsSync(dataDir)) {
  console.error(`bench-scroll-latency: no series at ${dataDir} (../shared/data is needed; or give --data DIR)`);
  process.exit(2);
}
if (modes.some((m) => m !== 'worker' && m !== 'main')) {
  console.error(`bench-scroll-latency: --modes takes worker and/or main, got ${opt.modes}`);
  process.exit(2);
}

// ---- the series as a dicomjson manifest (OHIF's format: study > series > instances with metadata + url) -------
const KEYWORDS = {
  x00080016: 'SOPClassUID',
  x00080018: 'SOPInstanceUID',
  x00080060: 'Modality',
  x0008103e: 'SeriesDescription',
  x00081030: 'StudyDescription',
  x00100010: 'PatientName',
  x00100020: 'PatientID',
  x00080020: 'StudyDate',
  x0020000d: 'StudyInstanceUID',
  x0020000e: 'SeriesInstanceUID',
  x00200011: 'SeriesNumber',
  x00200013: 'InstanceNumber',
  x00200032: 'ImagePositionPatient',
  x00200037: 'ImageOrientationPatient',
  x00200052: 'FrameOfReferenceUID',
  x00280002: 'SamplesPerPixel',
  x00280004: 'PhotometricInterpretation',
  x00280010: 'Rows',
  x00280011: 'Columns',
  x00280030: 'PixelSpacing',
  x00280100: 'BitsAllocated',
  x00280101: 'BitsStored',
  x00280102: 'HighBit',
  x00280103: 'PixelRepresentation',
  x00281050: 'WindowCenter',
  x00281051: 'WindowWidth',
  x00281052: 'RescaleIntercept',
  x00281053: 'RescaleSlope',
  x00080008: 'ImageType',
  x00180050: 'SliceThickness',
};
const NUMERIC = new Set(['SeriesNumber', 'InstanceNumber', 'SliceThickness', 'RescaleIntercept', 'RescaleSlope']);
const LISTS = new Set([
  'ImagePositionPatient',
  'ImageOrientationPatient',
  'PixelSpacing',
  'WindowCenter',
  'WindowWidth',
]);
const US = new Set([
  'SamplesPerPixel',
  'Rows',
  'Columns',
  'BitsAllocated',
  'BitsStored',
  'HighBit',
  'PixelRepresentation',
]);

function metadataOf(file) {
  const ds = dicomParser.parseDicom(new Uint8Array(fs.readFileSync(file)), { untilTag: 'x7fe00010' });
  const meta = {};
  for (const [tag, key] of Object.entries(KEYWORDS)) {
    if (!ds.elements[tag]) continue;
    const text = (ds.string(tag) ?? '').trim();
    if (US.has(key)) meta[key] = ds.uint16(tag);
    else if (key === 'ImageType') meta[key] = text.split('\\');
    else if (LISTS.has(key)) meta[key] = text.split('\\').map(Number);
    else if (NUMERIC.has(key)) meta[key] = Number(text);
    else if (text) meta[key] = text;
  }
  for (const k of ['WindowCenter', 'WindowWidth']) if (meta[k]?.length === 1) meta[k] = meta[k][0];
  return meta;
}

const files = fs
  .readdirSync(dataDir)
  .filter((f) => !f.startsWith('.') && fs.statSync(path.join(dataDir, f)).isFile())
  .filter((f) => {
    try {
      return Boolean(metadataOf(path.join(dataDir, f)).SOPInstanceUID);
    } catch {
      return false;
    }
  });
const instances = files
  .map((f) => ({ file: f, metadata: metadataOf(path.join(dataDir, f)) }))
  .sort((a, b) => (a.metadata.InstanceNumber ?? 0) - (b.metadata.InstanceNumber ?? 0));
if (instances.length < 50)
  console.warn(`bench-scroll-latency: ${dataDir} has ${instances.length} slices (the target is >= 50)`);
const first = instances[0].metadata;
const manifestFor = (origin) => ({
  studies: [
    {
      StudyInstanceUID: first.StudyInstanceUID,
      StudyDate: first.StudyDate,
      StudyDescription: first.StudyDescription ?? 'benchmark',
      PatientName: first.PatientName,
      PatientID: first.PatientID,
      Modalities: first.Modality,
      NumInstances: instances.length,
      series: [
        {
          SeriesInstanceUID: first.SeriesInstanceUID,
          SeriesDescription: first.SeriesDescription,
          SeriesNumber: first.SeriesNumber,
          Modality: first.Modality,
          instances: instances.map((i) => ({
            metadata: i.metadata,
            url: `dicomweb:${origin}/bench-series/${encodeURIComponent(i.file)}`,
          })),
        },
      ],
    },
  ],
});

// ---- server and browser -------------------------------------------------------------------------------------------
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startServer(port) {
  const args = [
    path.join(repo, 'server', 'serve.mjs'),
    '--port',
    String(port),
    ...(opt.models ? ['--models', opt.models] : []),
  ];
  const child = spawn(process.execPath, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 20000);
    child.stdout.on('data', (d) => {
      out += d;
      if (/http:\/\//.test(out)) {
        clearTimeout(t);
        resolve();
      }
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    child.once('exit', (code) => {
      clearTimeout(t);
      reject(new Error(`server exited (${code}): ${out}`));
    });
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => child.kill('SIGTERM') };
}

const pct = (xs, p) => {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
};
const stats = (xs) => ({ n: xs.length, p50: pct(xs, 50), p95: pct(xs, 95), max: xs.length ? Math.max(...xs) : NaN });

/**
 * In the page: a user turning the wheel one notch every `every` ms (what the StackScroll tool does on a notch:
 * Cornerstone's `utilities.scroll(viewport, { delta })`; the tool's own listener ignores synthetic wheel events).
 * The driver issues a step whenever the previous one is on screen; a notch due at time g waits for the first frame
 * after g that shows a new slice, so a main thread busy with inference delays every notch due meanwhile.
 * Latency of a notch = that frame's time - g (first animation frame after the new slice's IMAGE_RENDERED).
 * With `series`, the run starts by pressing "Classify series" (from inside the page, so that a run that blocks the
 * main thread is measured too) and lasts until the series is done. (The benchmark reads the page's Cornerstone from
 * window.cornerstone, as a test harness may; the extension itself never does.)
 */
async function scrollRun(page, { steps, interval: every, series }) {
  return page.evaluate(
    async ({ steps, every, series }) => {
      const cs = window.cornerstone;
      const canvas = document.querySelector('canvas.cornerstone-canvas');
      const viewport = cs
        .getRenderingEngines()
        .flatMap((e) => e.getViewports())
        .find((v) => v.element.contains(canvas));
      const element = viewport.element;
      const status = () => document.querySelector('[data-testid="ssclnet-series-status"]')?.textContent ?? '';
      const done = () => /^\d+ \/ \d+ slices/.test(status()) || /^Cancelled/.test(status());
      let rendered = 0;
      const onRender = () => {
        rendered++;
      };
      element.addEventListener(cs.Enums.Events.IMAGE_RENDERED, onRender);
      const frame = () => new Promise((r) => requestAnimationFrame(() => r(performance.now())));
      const shown = [];
      const total = viewport.getImageIds().length;
      let direction = 1;
      const start = performance.now();
      if (series) document.querySelector('[data-testid="ssclnet-classify-series"]').click();
      let next = start;
      for (let i = 0; steps ? i < steps : true; i++) {
        if (series && i > 0 && done()) break;
        const wait = next - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        const index = viewport.getCurrentImageIdIndex();
        if (index + direction < 0 || index + direction >= total) direction = -direction;
        const before = rendered;
        cs.utilities.scroll(viewport, { delta: direction });
        const t0 = performance.now();
        while (rendered === before && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 0));
        const t = await frame();
        shown.push(t);
        next = Math.max(next + every, t);
      }
      element.removeEventListener(cs.Enums.Events.IMAGE_RENDERED, onRender);
      const latencies = [];
      for (let g = start, k = 0; g <= shown[shown.length - 1]; g += every) {
        while (shown[k] < g) k++;
        latencies.push(shown[k] - g);
      }
      return { latencies, steps: shown.length, seconds: (performance.now() - start) / 1000 };
    },
    { steps, every, series },
  );
}

async function benchMode(context, viewerUrl, mode) {
  const page = await context.newPage();
  page.setDefaultTimeout(180000);
  await page.route('**/sample-study/manifest.json', (route) =>
    route.fulfill({ json: manifestFor(new URL(viewerUrl).origin) }),
  );
  await page.route('**/bench-series/*', (route) => {
    const name = decodeURIComponent(new URL(route.request().url()).pathname.split('/').pop());
    return route.fulfill({
      body: fs.readFileSync(path.join(dataDir, path.basename(name))),
      contentType: 'application/dicom',
    });
  });
  if (mode === 'main') {
    await page.route('**/app-config.js', async (route) => {
      const response = await route.fetch();
      const body = `${await response.text()}\nwindow.config.ssclnet = { ...(window.config.ssclnet ?? {}), inference: 'main' };\n`;
      await route.fulfill({ response, body });
    });
  }
  await page.goto(`${viewerUrl}/ssclnet/dicomjson?StudyInstanceUIDs=${first.StudyInstanceUID}`);
  await page.waitForSelector('[data-testid="ssclnet-model-version"]');
  const where = await page.getAttribute('[data-testid="ssclnet-model"]', 'data-where');
  const backend = await page.textContent('[data-testid="ssclnet-backend"]');
  await page.waitForFunction(
    (n) => (document.querySelector('[data-testid="ssclnet-slice"]')?.textContent ?? '').trim() === `1 / ${n}`,
    instances.length,
  );
  // Every slice loaded once (Cornerstone's cache), so scrolling measures drawing, not the network.
  await scrollRun(page, { steps: instances.length * 2, interval: 30 });
  const idle = await scrollRun(page, { steps: idleSteps, interval });
  const busy = await scrollRun(page, { steps: 0, interval, series: true });
  await page.waitForFunction(
    (n) =>
      (document.querySelector('[data-testid="ssclnet-series-status"]')?.textContent ?? '').startsWith(
        `${n} / ${n} slices`,
      ),
    instances.length,
  );
  const seriesSeconds = busy.seconds;
  const summary = await page.textContent('[data-testid="ssclnet-series-summary"]');
  await page.close();
  return {
    mode,
    where,
    backend,
    slices: instances.length,
    seriesSeconds,
    summary,
    idle: { ...stats(idle.latencies), frames: idle.steps },
    duringSeries: { ...stats(busy.latencies), frames: busy.steps },
  };
}

const { chromium } = await import('playwright-core');
const server = await startServer(await freePort());
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-bench-scroll-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: opt.chromium ?? process.env.SSCLNET_CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  viewport: { width: 1400, height: 900 },
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
const results = [];
// Ctrl-C / kill: close the browser and the server before leaving.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    await context.close().catch(() => undefined);
    server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
    process.exit(130);
  });
}
try {
  console.log(
    `series: ${dataDir} (${instances.length} slices); scroll step every ${interval} ms; ${os.cpus().length} CPU cores`,
  );
  for (const mode of modes) {
    const r = await benchMode(context, server.url, mode);
    results.push(r);
    const f = (s) =>
      `p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms, max ${s.max.toFixed(0)} ms (${s.n} notches, ${s.frames} new-slice frames)`;
    console.log(
      `${mode.padEnd(6)} inference in ${r.where} on ${r.backend}: series of ${r.slices} in ${r.seriesSeconds.toFixed(1)} s`,
    );
    console.log(`        scroll-frame latency idle:          ${f(r.idle)}`);
    console.log(`        scroll-frame latency during series: ${f(r.duringSeries)}`);
    console.log(`        summary: ${r.summary}`);
  }
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
  server.stop();
}
if (opt.json) fs.writeFileSync(opt.json, `${JSON.stringify({ series: dataDir, interval, results }, null, 2)}\n`);
