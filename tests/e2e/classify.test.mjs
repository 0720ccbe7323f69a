// Classification in the viewer, end to end in headless Chromium on both data sources: a registry made at test
// start (random weights, 64 px: the numbers mean nothing, the plumbing is what is tested), the sample study
// opened in our mode, the displayed slice classified, and the probabilities checked against the Node
// evaluator's on the same DICOM instance.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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
  startOrthanc,
  startViewer,
  sel,
} from './harness.mjs';

const [adi, forrest] = sample.studies;
const VERSION = 'e2e-random-64';
const TOLERANCE = 1e-4;

let work, orthanc, viewer, browser, page;
/** Node evaluator's probabilities by sample file (relative to demo/sample-study). */
let nodeProbabilities;

function python(args) {
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(repo, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  return execFileSync('python3', args, { cwd: repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** A registry the way an admin makes one: checkpoint -> `ssclnet export` -> `ssclnet publish`. */
function makeRegistry(dir) {
  const ckpt = path.join(dir, 'random.pt');
  python(['-m', 'ssclnet.parity', 'random-checkpoint', '--out', ckpt, '--input-size', '64', '--seed', '5']);
  python(['-m', 'ssclnet.cli', 'export', '--checkpoint', ckpt, '--out', path.join(dir, 'model'), '--version', VERSION]);
  const registry = path.join(dir, 'registry');
  python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--model', path.join(dir, 'model')]);
  return registry;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-e2e-classify-'));
  const registry = makeRegistry(work);
  nodeProbabilities = nodeEvaluatorProbabilities(registry, path.join(work, 'node-eval'));
  orthanc = await startOrthanc();
  viewer = await startViewer({
    port: await freePort(),
    args: ['--models', registry],
    env: { SSCLNET_PACS_URL: orthanc.dicomWebUrl },
  });
  browser = await launchBrowser({ timeout: 60000 });
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
  orthanc?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function waitForSlice(expected) {
  await page.waitForFunction(
    ([s, want]) => document.querySelector(s)?.textContent?.trim() === want,
    [sel('ssclnet-slice'), expected],
  );
}

/** Opens a collapsible panel section (history, file, model start closed). */
async function openSection(id) {
  if ((await page.getAttribute(sel(`ssclnet-section-${id}`), 'data-open')) !== 'true')
    await page.click(sel(`ssclnet-section-toggle-${id}`));
  await page.waitForSelector(`${sel(`ssclnet-section-${id}`)}[data-open="true"]`);
}

/** Clicks "Classify slice" and returns what the panel shows, checked against the Node evaluator. */
async function classifyAndCheck() {
  await page.click(sel('ssclnet-classify'));
  return checkShownResult();
}

/** Reads the shown result and checks it against the Node evaluator on the same instance. */
async function checkShownResult() {
  const result = page.locator(sel('ssclnet-result'));
  await result.waitFor();
  const shown = await result.evaluate((el) => ({
    version: el.getAttribute('data-model-version'),
    sop: el.getAttribute('data-sop'),
    top: el.querySelector('[data-testid="ssclnet-top"]')?.textContent,
    topClass: el.querySelector('[data-testid="ssclnet-top"]')?.getAttribute('data-class'),
    probabilities: [...el.querySelectorAll('[data-testid="ssclnet-prob"]')].map((p) => ({
      label: p.getAttribute('data-class'),
      p: Number(p.getAttribute('data-p')),
    })),
  }));
  assert.equal(shown.version, VERSION);
  assert.deepEqual(
    shown.probabilities.map((p) => p.label),
    ['glioma', 'meningioma', 'notumor', 'pituitary'],
  );
  const p = shown.probabilities.map((x) => x.p);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-5, `probabilities sum to ${p.reduce((a, b) => a + b, 0)}`);
  const file = fileOfSop(shown.sop);
  assert.ok(file, `the result names a sample instance (${shown.sop})`);
  const expected = nodeProbabilities.get(file);
  assert.ok(expected, `Node evaluator has ${file}`);
  const diff = Math.max(...p.map((v, i) => Math.abs(v - expected[i])));
  assert.ok(diff < TOLERANCE, `browser vs Node evaluator on ${file}: max |diff| ${diff}`);
  const best = p.indexOf(Math.max(...p));
  assert.equal(shown.topClass, shown.probabilities[best].label);
  assert.match(shown.top, / \d+\.\d%$/);
  console.log(`${file}: browser ${p.map((v) => v.toFixed(4)).join(' ')}; max |diff| vs Node ${diff.toExponential(2)}`);
  return { file, p, topLabel: shown.probabilities[best].label, top: shown.top };
}

test('embedded study: model status, classify the displayed slice, same numbers as the Node evaluator', async () => {
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${adi.StudyInstanceUID}`);
  await waitForSlice('1 / 7');
  await page.waitForSelector(sel('ssclnet-model-version'));
  assert.equal(await page.textContent(sel('ssclnet-model-version')), VERSION);
  const backend = await page.textContent(sel('ssclnet-backend'));
  console.log(`backend in headless Chromium: ${backend}`);
  assert.match(await page.textContent(sel('ssclnet-note')), /research use only, not for diagnosis/i);

  const box = await page.locator('canvas.cornerstone-canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 120);
  await page.mouse.wheel(0, 120);
  await waitForSlice('3 / 7');
  await page.waitForTimeout(300);
  const first = await classifyAndCheck();
  console.log(`screenshot: ${await screenshot(page, 'classify-embedded-slice-3')}`);

  // Scrolling away clears the result: it described the previous slice.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 120);
  await waitForSlice('4 / 7');
  await page.waitForSelector(sel('ssclnet-result'), { state: 'detached' });
  const second = await classifyAndCheck();
  assert.notEqual(second.file, first.file);
  const overlay = page.locator(sel('ssclnet-overlay'));
  assert.match(
    await overlay.textContent(),
    new RegExp(`^(No tumour|Glioma|Meningioma|Pituitary tumour) \\d+\\.\\d% · ${VERSION}$`),
  );

  // Auto mode: scrolling classifies the new slice by itself; the overlay follows; it can be switched off.
  await page.check(sel('ssclnet-auto'));
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 120);
  await page.mouse.wheel(0, 120);
  await waitForSlice('6 / 7');
  await page.waitForSelector(sel('ssclnet-result'));
  const auto = await checkShownResult();
  assert.notEqual(auto.file, second.file);
  const overlayText = await overlay.textContent();
  assert.equal(overlayText, `${auto.top} · ${VERSION}`);
  console.log(`screenshot: ${await screenshot(page, 'classify-overlay-auto')}`);
  await page.uncheck(sel('ssclnet-overlay-toggle'));
  await overlay.waitFor({ state: 'detached' });
  await page.uncheck(sel('ssclnet-auto'));
  await page.check(sel('ssclnet-overlay-toggle'));

  // Whole series: progress to the end, a strip cell per slice, a counts summary, a click on the strip jumps there
  // and the overlay shows that slice's result from the run.
  await page.click(sel('ssclnet-classify-series'));
  await page.waitForFunction(
    (s) => /^7 \/ 7 slices/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-series-status'),
  );
  assert.equal(await page.locator(sel('ssclnet-strip-cell')).count(), 7);
  const summary = page.locator(sel('ssclnet-series-summary'));
  const summaryText = await summary.textContent();
  assert.match(summaryText, /^7 slices: /);
  assert.doesNotMatch(summaryText, /%/, 'the summary gives counts, not a probability');
  await page.locator(sel('ssclnet-strip-cell')).nth(1).click();
  await waitForSlice('2 / 7');
  await page.locator(sel('ssclnet-strip-cell')).nth(4).click();
  await waitForSlice('5 / 7');
  await overlay.waitFor();
  assert.match(await overlay.textContent(), new RegExp(` · ${VERSION}$`));
  console.log(`series summary: ${summaryText}`);
  console.log(`screenshot: ${await screenshot(page, 'classify-series-strip')}`);

  // Export: the CSV has a row per classification, with UIDs, slice, probabilities and the model version.
  await openSection('history');
  const history = Number(await page.textContent(sel('ssclnet-history-count')));
  assert.equal(history, 7); // one row per instance + model version: the series run updated slices 3, 4 and 6
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(sel('ssclnet-export-csv'))]);
  const csv = fs
    .readFileSync(await download.path(), 'utf8')
    .trim()
    .split(/\r\n/);
  assert.equal(csv.length, 1 + history);
  const header = csv[0].split(',');
  assert.deepEqual(header.slice(-4), ['p_glioma', 'p_meningioma', 'p_notumor', 'p_pituitary']);
  for (const line of csv.slice(1)) {
    const row = Object.fromEntries(line.split(',').map((v, i) => [header[i], v]));
    assert.equal(row.study_instance_uid, adi.StudyInstanceUID);
    assert.equal(row.model_version, VERSION);
    const file = fileOfSop(row.sop_instance_uid);
    const expected = nodeProbabilities.get(file);
    const p = ['glioma', 'meningioma', 'notumor', 'pituitary'].map((k) => Number(row[`p_${k}`]));
    assert.ok(
      Math.max(...p.map((v, i) => Math.abs(v - expected[i]))) < TOLERANCE,
      `CSV row for ${file} matches the Node evaluator`,
    );
  }
});

test('inference runs in a Web Worker (not on the page); the K hotkey, Shift+K and the toolbar button classify', async () => {
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${adi.StudyInstanceUID}`);
  await waitForSlice('1 / 7');
  await page.waitForSelector(sel('ssclnet-model-version'));
  assert.equal(await page.getAttribute(sel('ssclnet-model'), 'data-where'), 'worker');
  const worker = page.workers().find((w) => w.url().endsWith('/plugins/ssclnet-inference.js'));
  assert.ok(
    worker,
    `the inference worker runs (workers: ${page
      .workers()
      .map((w) => w.url())
      .join(', ')})`,
  );
  // tfjs keeps its engine on the global object of the realm it runs in: the worker has it, the page does not.
  assert.equal(
    await page.evaluate(() => typeof globalThis._tfengine),
    'undefined',
    'no TensorFlow.js on the main thread',
  );
  const engine = () =>
    worker.evaluate(() => ({
      backend: self._tfengine?.backendName,
      backends: Object.keys(self._tfengine?.registryFactory ?? {}),
    }));
  assert.equal((await engine()).backend, await page.textContent(sel('ssclnet-backend')));

  // Hotkey K classifies the displayed slice (focus on the viewport, as a radiologist works).
  const box = await page.locator('canvas.cornerstone-canvas').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.press('ArrowDown');
  await waitForSlice('2 / 7');
  await page.keyboard.press('k');
  const viaKey = await checkShownResult();

  // Shift+K classifies the whole series, in the worker.
  await page.keyboard.press('Shift+K');
  await page.waitForFunction(
    (s) => /^7 \/ 7 slices/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-series-status'),
  );
  assert.equal(
    await page.evaluate(() => typeof globalThis._tfengine),
    'undefined',
    'still no TensorFlow.js on the main thread after a series run',
  );
  assert.ok((await engine()).backend, 'the worker ran the series');

  // The toolbar button runs the same command on another slice.
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 120);
  await waitForSlice('3 / 7');
  await page.waitForSelector(sel('ssclnet-result'), { state: 'detached' });
  await page.click('[data-cy="ssclnetClassify-btn"]');
  const viaButton = await checkShownResult();
  assert.notEqual(viaButton.file, viaKey.file);
  // O toggles the overlay.
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.locator(sel('ssclnet-overlay')).waitFor();
  await page.keyboard.press('o');
  await page.locator(sel('ssclnet-overlay')).waitFor({ state: 'detached' });
  await page.keyboard.press('o');
  console.log(`screenshot: ${await screenshot(page, 'classify-worker-hotkeys')}`);
});

test('Orthanc PACS (DICOMweb): classify the displayed slice, same numbers as the Node evaluator', async () => {
  await page.goto(`${viewer.url}/ssclnet/orthanc?StudyInstanceUIDs=${forrest.StudyInstanceUID}`);
  await waitForSlice('1 / 9');
  await page.waitForSelector(sel('ssclnet-model-version'));
  await page.waitForSelector('canvas.cornerstone-canvas');
  await page.waitForTimeout(300);
  await classifyAndCheck();
  console.log(`screenshot: ${await screenshot(page, 'classify-orthanc-slice-1')}`);

  // A local file, no study: a DICOM from disk gives the Node evaluator's answer; a JPEG is classified too.
  const dicomFile = 'adi-t2-axial/IM0042.dcm';
  await openSection('file');
  await page.setInputFiles(sel('ssclnet-file-input'), path.join(repo, 'demo', 'sample-study', dicomFile));
  await page.waitForFunction((s) => /%/.test(document.querySelector(s)?.textContent ?? ''), sel('ssclnet-file-result'));
  const expected = nodeProbabilities.get(dicomFile);
  const best = expected.indexOf(Math.max(...expected));
  const label = ['glioma', 'meningioma', 'notumor', 'pituitary'][best];
  // The same result card as a slice's: the file's name, the top class (raw name in data-class), four bars.
  const fileCard = page.locator(sel('ssclnet-file-card'));
  assert.equal(await fileCard.getAttribute('data-model-version'), VERSION);
  assert.match(await fileCard.textContent(), /IM0042\.dcm/);
  assert.equal(await fileCard.locator(sel('ssclnet-top')).getAttribute('data-class'), label);
  assert.match(
    await fileCard.locator(sel('ssclnet-top')).textContent(),
    new RegExp(` ${(expected[best] * 100).toFixed(1).replace('.', '\\.')}%$`),
  );
  assert.equal(await fileCard.locator(sel('ssclnet-prob')).count(), 4);
  const jpeg = path.join(repo, 'tests', 'fixtures', 'parity', 'jpeg', 'glioma-tr-Tr-gl_0020.jpg');
  await page.setInputFiles(sel('ssclnet-file-input'), jpeg);
  await page.waitForFunction(
    (s) =>
      document.querySelector(s)?.getAttribute('data-name') === 'glioma-tr-Tr-gl_0020.jpg' &&
      /%/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-file-result'),
  );
  // Not an image: a clear message, no result.
  await page.setInputFiles(sel('ssclnet-file-input'), {
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('hello'),
  });
  await page.waitForFunction(
    (s) => /not supported/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-file-result'),
  );
  assert.doesNotMatch(await page.textContent(sel('ssclnet-file-result')), /%/);
});
