// Results back to the PACS from the viewer (issue 13), end to end in headless Chromium: on the project's Orthanc a
// whole series is classified, "Save result to PACS" stores the SR (STOW-RS through the server's /dicom-web proxy),
// the study is reloaded and the prior result is listed with its model version and date, and shown in the strip and
// the overlay with the same numbers, without running the model; a PACS that went down gives a clear message. On the
// embedded demo (no DICOMweb) the same action downloads the .dcm file. A registry made at test start (random
// weights, 64 px: the numbers mean nothing, the plumbing is what is tested).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, launchBrowser, repo, sample, screenshot, startOrthanc, startViewer, sel } from './harness.mjs';

const [adi] = sample.studies;
const VERSION = 'e2e-report-64';

let work, orthanc, viewer, browser, page;

function python(args) {
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(repo, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  return execFileSync('python3', args, { cwd: repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function makeRegistry(dir) {
  const ckpt = path.join(dir, 'random.pt');
  python(['-m', 'ssclnet.parity', 'random-checkpoint', '--out', ckpt, '--input-size', '64', '--seed', '7']);
  python(['-m', 'ssclnet.cli', 'export', '--checkpoint', ckpt, '--out', path.join(dir, 'model'), '--version', VERSION]);
  const registry = path.join(dir, 'registry');
  python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--model', path.join(dir, 'model')]);
  return registry;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-e2e-report-'));
  const registry = makeRegistry(work);
  orthanc = await startOrthanc();
  viewer = await startViewer({
    port: await freePort(),
    args: ['--models', registry],
    env: { SSCLNET_PACS_URL: orthanc.dicomWebUrl },
  });
  browser = await launchBrowser({ timeout: 90000 });
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
  try {
    orthanc?.stop();
  } catch {
    /* already stopped by the test */
  }
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function openStudy(source) {
  await page.goto(`${viewer.url}/ssclnet/${source}?StudyInstanceUIDs=${adi.StudyInstanceUID}`);
  await page.waitForFunction((s) => document.querySelector(s)?.textContent?.trim() === '1 / 7', sel('ssclnet-slice'));
  await page.waitForSelector(sel('ssclnet-model-version'));
}

const stripTitles = () => page.$$eval(sel('ssclnet-strip-cell'), (cells) => cells.map((c) => c.getAttribute('title')));

test('Orthanc: classify the series, save the SR to the PACS, reload: the prior result is listed and shown with the same numbers', async () => {
  await openStudy('orthanc');
  // A fresh PACS: the lookup ran and found nothing.
  await page.waitForFunction(
    (s) => document.querySelector(s)?.getAttribute('data-state') === 'done',
    sel('ssclnet-priors'),
  );
  assert.equal(await page.locator(sel('ssclnet-prior')).count(), 0);
  assert.equal((await page.textContent(sel('ssclnet-save-report'))).trim(), 'Save result to PACS');

  await page.click(sel('ssclnet-classify-series'));
  await page.waitForFunction(
    (s) => /^7 \/ 7 slices/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-series-status'),
  );
  const titles = await stripTitles();
  const summary = (await page.textContent(sel('ssclnet-series-summary'))).trim();
  assert.equal(titles.length, 7);
  // The overlay shows the run's answer for the displayed slice (slice 1).
  const runOverlay = await page.locator(sel('ssclnet-overlay')).textContent();
  assert.match(runOverlay, new RegExp(` · ${VERSION}$`));

  await page.click(sel('ssclnet-save-report'));
  const status = page.locator(sel('ssclnet-save-status'));
  await page.waitForFunction(
    (s) => ['done', 'failed'].includes(document.querySelector(s)?.getAttribute('data-state')),
    sel('ssclnet-save-status'),
  );
  const saved = await status.evaluate((el) => ({
    state: el.getAttribute('data-state'),
    where: el.getAttribute('data-where'),
    sop: el.getAttribute('data-sop'),
    text: el.textContent,
  }));
  assert.equal(saved.state, 'done', saved.text);
  assert.equal(saved.where, 'pacs');
  assert.match(saved.text, /^Stored in .*7 slice\(s\)/);
  console.log(`saved: ${saved.text} (${saved.sop})`);
  // It is in the PACS, as one SR series with one instance (QIDO-RS straight to Orthanc).
  const series = await (
    await fetch(`${orthanc.dicomWebUrl}/studies/${adi.StudyInstanceUID}/series?Modality=SR`)
  ).json();
  assert.equal(series.length, 1);
  // The list updates after the save.
  await page.waitForSelector(`${sel('ssclnet-prior')}[data-sop="${saved.sop}"]`);

  // Reload the study: the prior result is found and listed with its model version and date, and shown on request
  // in the strip and the overlay with the numbers of the run, without running the model.
  await page.reload();
  await page.waitForFunction((s) => document.querySelector(s)?.textContent?.trim() === '1 / 7', sel('ssclnet-slice'));
  const prior = page.locator(`${sel('ssclnet-prior')}[data-sop="${saved.sop}"]`);
  await prior.waitFor();
  const listed = await prior.evaluate((el) => ({
    version: el.getAttribute('data-model-version'),
    date: el.getAttribute('data-date'),
    slices: el.getAttribute('data-slices'),
    other: el.getAttribute('data-other-model'),
    text: el.textContent,
  }));
  assert.equal(listed.version, VERSION);
  assert.equal(listed.slices, '7');
  assert.match(listed.date, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.equal(listed.other, 'false');
  console.log(`prior listed: ${listed.text}`);
  assert.equal(await page.locator(sel('ssclnet-strip-cell')).count(), 0, 'nothing classified in this page yet');
  await prior.locator(sel('ssclnet-prior-show')).click();
  await page.waitForFunction((s) => document.querySelectorAll(s).length === 7, sel('ssclnet-strip-cell'));
  assert.deepEqual(await stripTitles(), titles, 'the strip of the stored result equals the run that was saved');
  assert.equal((await page.textContent(sel('ssclnet-series-summary'))).trim(), summary);
  const overlay = page.locator(sel('ssclnet-overlay'));
  await overlay.waitFor();
  assert.equal(await overlay.textContent(), runOverlay, 'the overlay shows the stored answer of the displayed slice');
  assert.equal(await page.locator(sel('ssclnet-result')).count(), 0, 'no model run: no slice result');
  console.log(`screenshot: ${await screenshot(page, 'report-prior-shown')}`);

  // Saving again the same result: no duplicate series (the PACS keeps the instance it has).
  await page.click(sel('ssclnet-classify-series'));
  await page.waitForFunction(
    (s) => /^7 \/ 7 slices/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-series-status'),
  );
  await page.click(sel('ssclnet-save-report'));
  await page.waitForFunction(
    (s) => ['done', 'failed'].includes(document.querySelector(s)?.getAttribute('data-state')),
    sel('ssclnet-save-status'),
  );
  assert.equal(await status.getAttribute('data-sop'), saved.sop, 'the same result is the same SR instance');
  const again = await (await fetch(`${orthanc.dicomWebUrl}/studies/${adi.StudyInstanceUID}/series?Modality=SR`)).json();
  assert.equal(again.length, 1);

  // The PACS goes down: a clear message, nothing stored.
  orthanc.stop();
  orthanc = null;
  await page.click(sel('ssclnet-save-report'));
  await page.waitForFunction(
    (s) => document.querySelector(s)?.getAttribute('data-state') === 'failed',
    sel('ssclnet-save-status'),
  );
  const down = await status.textContent();
  assert.match(down, /unreachable|did not answer/i);
  assert.match(down, /Nothing was stored/);
  console.log(`PACS down: ${down}`);
});

test('embedded demo (no DICOMweb): the same action (Shift+S) downloads the SR as a .dcm file', async () => {
  await openStudy('dicomjson');
  await page.waitForFunction(
    (s) => document.querySelector(s)?.getAttribute('data-state') === 'unavailable',
    sel('ssclnet-priors'),
  );
  assert.equal((await page.textContent(sel('ssclnet-save-report'))).trim(), 'Download result (DICOM SR)');
  // Classified slices of the displayed series are enough (no series run).
  await page.click(sel('ssclnet-classify'));
  await page.waitForSelector(sel('ssclnet-result'));
  // The hotkey runs the same command as the button.
  const box = await page.locator('canvas.cornerstone-canvas').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Shift+S')]);
  assert.match(download.suggestedFilename(), /^ssclnet-sr-2\.25\.\d+\.dcm$/);
  const bytes = fs.readFileSync(await download.path());
  assert.equal(bytes.subarray(128, 132).toString('latin1'), 'DICM');
  assert.ok(bytes.includes(Buffer.from(adi.StudyInstanceUID)), 'the SR is in the source study');
  // The SR the viewer wrote (patient/study attributes from OHIF's metadata) is a valid Comprehensive SR.
  if (fs.existsSync('/usr/bin/dciodvfy')) {
    const file = path.join(work, 'viewer-sr.dcm');
    fs.writeFileSync(file, bytes);
    let out = '';
    try {
      out = execFileSync('dciodvfy', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      out = `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    const errors = out.split('\n').filter((l) => /^Error/.test(l));
    assert.deepEqual(errors, [], out);
  } else console.log('dciodvfy not installed (apt-get install dicom3tools): validity not checked here');
  await page.waitForFunction(
    (s) => document.querySelector(s)?.getAttribute('data-where') === 'download',
    sel('ssclnet-save-status'),
  );
  console.log(
    `download: ${download.suggestedFilename()} (${bytes.length} bytes): ${await page.textContent(sel('ssclnet-save-status'))}`,
  );
});
