// Issue 16, end to end in headless Chromium on the demo (`npm start`: the committed registry, the embedded study):
// the page is cross-origin isolated (COOP/COEP) and still loads and classifies a study; tfjs-wasm runs its threaded
// SIMD build in the worker; a second page load reads the model from Cache Storage (no model bytes over the network,
// models.json revalidated) and still verifies it (a corrupted cache entry is refetched, never used); OHIF's MPR
// layout draws three planes and the panel classifies the axial plane and declines the others.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { canvasStats, freePort, launchBrowser, repo, sample, screenshot, startViewer, sel } from './harness.mjs';

const registry = JSON.parse(fs.readFileSync(path.join(repo, 'models', 'models.json'), 'utf8'));
const [adi, forrest] = sample.studies;
const MODEL_BYTES = new RegExp(`/models/${registry.latest.replace(/\./g, '\\.')}/.+\\.(bin|json)$`);

let viewer, browser, page, mprPlanes;
/** Every request the page and its workers made (URL), since the last clear. */
const requests = [];
const failures = [];

before(async () => {
  viewer = await startViewer({ port: await freePort() });
  browser = await launchBrowser({ timeout: 90000 });
  page = browser.page;
  browser.context.on('request', (r) => requests.push(r.url()));
  browser.context.on('requestfailed', (r) => failures.push(`${r.url()}: ${r.failure()?.errorText}`));
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
});

async function openStudy(study) {
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  await page.waitForSelector(sel('ssclnet-model-version'));
  assert.equal(await page.textContent(sel('ssclnet-model-version')), registry.latest);
  await page.waitForSelector('canvas.cornerstone-canvas');
}

function inferenceWorker() {
  const worker = page.workers().find((w) => w.url().endsWith('/plugins/ssclnet-inference.js'));
  assert.ok(
    worker,
    `the inference worker runs (workers: ${page
      .workers()
      .map((w) => w.url())
      .join(', ')})`,
  );
  return worker;
}

/** Backend, thread count and isolation as the worker's tfjs sees them. */
function workerRuntime() {
  return inferenceWorker().evaluate(() => {
    const engine = self._tfengine;
    const wasm = engine?.registry?.wasm?.wasm;
    return {
      isolated: self.crossOriginIsolated,
      sab: typeof SharedArrayBuffer,
      backend: engine?.backendName,
      threads: wasm?.tfjs?.getThreadsCount?.() ?? null,
    };
  });
}

/** Clicks "Classify slice" and reads the result card (`which`: a stricter selector to wait for, e.g. a declined card). */
async function classifyShown(which = sel('ssclnet-result')) {
  await page.click(sel('ssclnet-classify'));
  await page.waitForSelector(which, { timeout: 30000 }).catch(() => {});
  const result = page.locator(sel('ssclnet-result'));
  await result.waitFor();
  return result.evaluate((el) => ({
    version: el.getAttribute('data-model-version'),
    declined: el.getAttribute('data-declined') === 'true',
    reason: el.querySelector('[data-testid="ssclnet-declined"]')?.textContent ?? null,
    top: el.querySelector('[data-testid="ssclnet-top"]')?.textContent ?? null,
  }));
}

test('cross-origin isolated: COOP/COEP on the page, crossOriginIsolated in the page and the worker, wasm threads, a study loads and is classified', async () => {
  requests.length = 0;
  failures.length = 0;
  const response = await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${adi.StudyInstanceUID}`);
  assert.equal(response.headers()['cross-origin-opener-policy'], 'same-origin');
  assert.equal(response.headers()['cross-origin-embedder-policy'], 'require-corp');
  await page.waitForSelector(sel('ssclnet-model-version'));
  await page.waitForSelector('canvas.cornerstone-canvas');
  assert.equal(await page.evaluate(() => globalThis.crossOriginIsolated), true, 'the page is cross-origin isolated');
  assert.equal(await page.evaluate(() => typeof SharedArrayBuffer), 'function');
  const runtime = await workerRuntime();
  console.log(`worker runtime: ${JSON.stringify(runtime)}`);
  assert.equal(runtime.isolated, true, 'the inference worker is cross-origin isolated');
  assert.equal(runtime.backend, 'wasm', 'software WebGL in headless Chromium: wasm');
  // Isolated: the threaded SIMD build (its pthread workers start from blob: URLs and load), with one XNNPACK thread
  // per logical core (tfjs by itself grants half of them: one on this 2-core machine).
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.equal(runtime.threads, Math.min(cores, 8), `XNNPACK threads ${runtime.threads} for ${cores} cores`);
  assert.ok(
    requests.some((u) => /\/plugins\/tfjs-backend-wasm-threaded-simd\.wasm$/.test(u)),
    'the threaded SIMD wasm build was loaded',
  );
  // The study is drawn and classified; nothing was blocked by COEP/CORP.
  await page.waitForFunction(() => {
    const c = document.querySelector('canvas.cornerstone-canvas');
    return c && c.width > 0;
  });
  await page.waitForTimeout(500);
  assert.ok((await canvasStats(page)).lit > 0.02, 'the viewport shows the image');
  const shown = await classifyShown();
  assert.equal(shown.version, registry.latest);
  assert.ok(shown.top || shown.declined, 'a result is shown');
  assert.deepEqual(
    failures.filter((f) => /BLOCKED|CORP|COEP/i.test(f)),
    [],
    'no request blocked by cross-origin isolation',
  );
  console.log(
    `classified: ${shown.top ?? shown.reason}; screenshot: ${await screenshot(page, 'isolation-classified')}`,
  );
});

test('a second page load takes the model from Cache Storage: no model bytes fetched, models.json revalidated, verified, classified', async () => {
  // The first test loaded the model over the network and stored it; this load must not fetch it again.
  requests.length = 0;
  const t0 = Date.now();
  await openStudy(adi);
  const readyMs = Date.now() - t0;
  const shown = await classifyShown();
  const firstResultMs = Date.now() - t0;
  assert.equal(shown.version, registry.latest);
  const modelFetches = requests.filter((u) => MODEL_BYTES.test(new URL(u).pathname));
  assert.deepEqual(modelFetches, [], 'no model file of the loaded version over the network');
  assert.ok(
    requests.some((u) => new URL(u).pathname === '/models/models.json'),
    'models.json is still read (revalidated)',
  );
  const cached = await page.evaluate(async () => {
    const cache = await caches.open('ssclnet-models-v1');
    return (await cache.keys()).map((r) => r.url.split('/').pop());
  });
  const card = JSON.parse(fs.readFileSync(path.join(repo, 'models', registry.latest, 'model-card.json'), 'utf8'));
  const cardSha = registry.versions.find((v) => v.version === registry.latest).card_sha256;
  assert.ok(cached.includes(cardSha), 'the card is cached under its SHA-256');
  for (const h of cached)
    assert.ok(
      h === cardSha || Object.values(card.files).includes(h),
      `cache entry ${h} is a file of ${registry.latest}`,
    );
  console.log(
    `warm cache: model ready ${readyMs} ms, first classified slice ${firstResultMs} ms after navigation; ${cached.length} files cached`,
  );

  // Still verified: a corrupted cache entry is never used; the file comes again from the registry and the cache heals.
  const shard = Object.keys(card.files).find((f) => f.endsWith('.bin'));
  await page.evaluate(async (sha) => {
    const cache = await caches.open('ssclnet-models-v1');
    const key = (await cache.keys()).find((r) => r.url.endsWith(sha));
    await cache.put(key, new Response(new Uint8Array(1024)));
  }, card.files[shard]);
  requests.length = 0;
  await openStudy(adi);
  const refetched = requests
    .filter((u) => MODEL_BYTES.test(new URL(u).pathname))
    .map((u) => new URL(u).pathname.split('/').pop());
  assert.deepEqual(refetched, [shard], 'only the corrupted file is fetched again');
  const healed = await page.evaluate(async (sha) => {
    const cache = await caches.open('ssclnet-models-v1');
    const key = (await cache.keys()).find((r) => r.url.endsWith(sha));
    return key ? (await (await cache.match(key)).arrayBuffer()).byteLength : 0;
  }, card.files[shard]);
  assert.ok(healed > 1024, `the cache holds the good shard again (${healed} bytes)`);
});

test("OHIF's MPR layout from the toolbar's Layout menu on the demo volume series (cross-origin isolated): three planes drawn", async () => {
  await openStudy(forrest);
  await page.waitForTimeout(500);
  // As a radiologist does it: the toolbar's Layout button, then its MPR preset (the host's 'mpr' hanging protocol).
  await page.click('[data-cy="Layout"]');
  await page.getByText('MPR', { exact: true }).first().click();
  // Three volume viewports, each drawn.
  await page.waitForFunction(() => document.querySelectorAll('canvas.cornerstone-canvas').length >= 3);
  await page.waitForFunction(() => {
    const cs = window.cornerstone;
    const vps = cs?.getRenderingEngines?.()?.[0]?.getViewports?.() ?? [];
    return vps.filter((v) => typeof v.getCurrentSlicePixelData === 'function').length >= 3;
  });
  await page.waitForTimeout(2000);
  const planes = await page.evaluate(() => {
    const vps = window.cornerstone
      .getRenderingEngines()[0]
      .getViewports()
      .filter((v) => typeof v.getCurrentSlicePixelData === 'function');
    return vps.map((v) => {
      const canvas = v.canvas ?? v.element.querySelector('canvas.cornerstone-canvas');
      const ctx = canvas.getContext('2d');
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let lit = 0;
      for (let i = 0; i < data.length; i += 4) if (data[i] + data[i + 1] + data[i + 2] > 30) lit += 1;
      const r = v.element.getBoundingClientRect();
      return {
        id: v.id,
        normal: [...v.getCamera().viewPlaneNormal].map((x) => Math.round(x * 100) / 100),
        lit: lit / (data.length / 4),
        box: { x: r.x, y: r.y, w: r.width, h: r.height },
      };
    });
  });
  console.log(
    `MPR planes: ${JSON.stringify(planes.map(({ id, normal, lit }) => ({ id, normal, lit: lit.toFixed(3) })))}`,
  );
  console.log(`screenshot: ${await screenshot(page, 'isolation-mpr-three-planes')}`);
  assert.equal(planes.length, 3);
  for (const p of planes) assert.ok(p.lit > 0.005, `plane ${p.id} is drawn (${p.lit})`);

  mprPlanes = planes;
});

// The panel follows the active MPR plane: the axial reformat is classified (read from the volume's voxels,
// extension/src/classification/volumePlane.ts), the sagittal and coronal planes are declined by orientation.
test('MPR: the axial plane is classified, the sagittal and coronal planes declined', async () => {
  const planes = mprPlanes;
  assert.ok(planes?.length === 3, 'the MPR test above opened three planes');
  const axial = planes.find((p) => Math.abs(p.normal[2]) > 0.9);
  const others = planes.filter((p) => p !== axial);
  assert.ok(axial, 'one plane is axial');
  const activate = async (p) => {
    await page.mouse.click(p.box.x + p.box.w / 2, p.box.y + p.box.h / 2);
    await page.waitForTimeout(400);
  };
  await activate(axial);
  const onAxial = await classifyShown();
  console.log(`axial plane: ${onAxial.top ?? onAxial.reason}`);
  assert.ok(
    !onAxial.declined || !/not an axial slice/.test(onAxial.reason),
    `the axial plane is not declined for its orientation (${onAxial.reason})`,
  );
  for (const p of others) {
    await activate(p);
    const shown = await classifyShown(`${sel('ssclnet-result')}[data-declined="true"]`);
    console.log(`${p.id}: ${shown.reason ?? shown.top}`);
    assert.equal(shown.declined, true, `plane ${p.id} is declined`);
    assert.match(shown.reason, /not an axial slice \((sagittal|coronal)/);
  }
  console.log(`screenshot: ${await screenshot(page, 'isolation-mpr-declined')}`);
});
