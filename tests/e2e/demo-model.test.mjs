// The demo as a user starts it (`npm start`: no --models, so the committed registry in models/): the panel
// loads the shipped, trained model, a whole series is classified and exported, and every exported
// probability matches the Node evaluator's on the same shipped files. This is the test that the model in the
// repo is the one the viewer runs, and that the browser's tfjs gives the numbers docs/results.md reports.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  fileOfSop,
  freePort,
  launchBrowser,
  nodeEvaluatorProbabilities,
  repo,
  sample,
  screenshot,
  startViewer,
  sel,
} from './harness.mjs';

const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'];
// Headless Chromium's WebGL is software, so `auto` picks wasm there and matches Node exactly; the WebGL test
// below pins the backend, and WebGL's float32 shaders differ from wasm in the last digits only.
const TOLERANCE = 1e-4;
const registryDir = path.join(repo, 'models');
const registry = JSON.parse(fs.readFileSync(path.join(registryDir, 'models.json'), 'utf8'));
const shipped = registry.versions.find((v) => v.version === registry.latest);
const card = JSON.parse(fs.readFileSync(path.join(registryDir, shipped.path, 'model-card.json'), 'utf8'));

let work, viewer, browser, page, nodeProbabilities;

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-e2e-demo-'));
  nodeProbabilities = nodeEvaluatorProbabilities(registryDir, work);
  viewer = await startViewer({ port: await freePort() });
  browser = await launchBrowser({ timeout: 90000 });
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the shipped model is the demo default and matches the Node evaluator on a whole series', async () => {
  assert.equal(card.version, registry.latest);
  assert.equal(card.dtype, 'float16', 'the demo ships the float16 artifact');
  const [study] = sample.studies;
  const [series] = study.series;
  const n = series.instances.length;

  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  await page.waitForSelector(sel('ssclnet-model-version'));
  assert.equal(await page.textContent(sel('ssclnet-model-version')), registry.latest);

  await page.click(sel('ssclnet-classify-series'));
  await page.waitForFunction(
    ([s, want]) => (document.querySelector(s)?.textContent ?? '').startsWith(want),
    [sel('ssclnet-series-status'), `${n} / ${n} slices`],
  );
  assert.equal(await page.locator(sel('ssclnet-strip-cell')).count(), n);
  console.log(`series summary: ${await page.textContent(sel('ssclnet-series-summary'))}`);
  console.log(`screenshot: ${await screenshot(page, 'demo-model-series')}`);

  // The history section (with the export buttons) starts collapsed.
  if ((await page.getAttribute(sel('ssclnet-section-history'), 'data-open')) !== 'true')
    await page.click(sel('ssclnet-section-toggle-history'));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(sel('ssclnet-export-csv'))]);
  const lines = fs
    .readFileSync(await download.path(), 'utf8')
    .trim()
    .split(/\r\n/);
  const header = lines[0].split(',');
  const rows = lines.slice(1).map((line) => Object.fromEntries(line.split(',').map((v, i) => [header[i], v])));
  assert.equal(rows.length, n, 'one exported row per slice');
  const tops = [];
  let worst = 0;
  for (const row of rows) {
    assert.equal(row.model_version, registry.latest);
    const file = fileOfSop(row.sop_instance_uid);
    assert.ok(file, `row names a sample instance (${row.sop_instance_uid})`);
    const expected = nodeProbabilities.get(file);
    const p = CLASSES.map((k) => Number(row[`p_${k}`]));
    const diff = Math.max(...p.map((v, i) => Math.abs(v - expected[i])));
    assert.ok(diff < TOLERANCE, `browser vs Node evaluator on ${file}: max |diff| ${diff}`);
    worst = Math.max(worst, diff);
    tops.push(CLASSES[p.indexOf(Math.max(...p))]);
  }
  console.log(`${n} slices, top classes ${tops.join(' ')}; max |browser - Node| ${worst.toExponential(2)}`);
});

test('pinned to WebGL (what a GPU workstation runs), the shipped model gives the same numbers', async () => {
  // The host config's `backend` override, added to the served app-config.js as an admin would.
  await page.route('**/app-config.js', async (route) => {
    const response = await route.fetch();
    const body = `${await response.text()}\nwindow.config.ssclnet = { ...(window.config.ssclnet ?? {}), backend: 'webgl' };\n`;
    await route.fulfill({ response, body });
  });
  const [study] = sample.studies;
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  await page.waitForSelector(sel('ssclnet-model-version'));
  assert.equal(await page.textContent(sel('ssclnet-backend')), 'webgl');
  await page.waitForSelector('canvas.cornerstone-canvas');
  await page.click(sel('ssclnet-classify'));
  const result = page.locator(sel('ssclnet-result'));
  await result.waitFor();
  const shown = await result.evaluate((el) => ({
    sop: el.getAttribute('data-sop'),
    p: [...el.querySelectorAll('[data-testid="ssclnet-prob"]')].map((x) => Number(x.getAttribute('data-p'))),
  }));
  const file = fileOfSop(shown.sop);
  const expected = nodeProbabilities.get(file);
  const diff = Math.max(...shown.p.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(diff < TOLERANCE, `WebGL in the browser vs the Node evaluator on ${file}: max |diff| ${diff}`);
  console.log(
    `${file} on WebGL: ${shown.p.map((v) => v.toFixed(4)).join(' ')}; max |diff| vs Node ${diff.toExponential(2)}`,
  );
  await page.unroute('**/app-config.js');
});
