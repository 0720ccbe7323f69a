// Model updates in the real viewer (issue 18, point 5), against a registry the test administers: a copy of the
// shipped registry with two versions, served with `npm start`'s server (`--models DIR`). The panel lists both with
// their relation to the one in use; the administrator points `latest` back to the older version with a notice: the
// panel announces it ("Your administrator switched back to ...: <notice>") and the next classification answers
// with the older version; the newer version, then withdrawn, is shown struck through and never offered again.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, launchBrowser, repo, sample, screenshot, startViewer, sel, openSection } from './harness.mjs';

const shipped = JSON.parse(fs.readFileSync(path.join(repo, 'models', 'models.json'), 'utf8'));
const NEW = shipped.latest;
// The newest version published before the latest one (not a variant of it published later, e.g. its uint8 copy).
const created = (v) => shipped.versions.find((e) => e.version === v).created;
const OLD = shipped.versions
  .map((v) => v.version)
  .filter((v) => created(v) < created(NEW))
  .sort((a, b) => created(a).localeCompare(created(b)))
  .pop();
const [adi] = sample.studies;

let viewer, browser, page, registry;

function writeIndex(edit) {
  const index = JSON.parse(fs.readFileSync(path.join(registry, 'models.json'), 'utf8'));
  edit(index);
  const tmp = path.join(registry, '.models.json.tmp');
  fs.writeFileSync(tmp, JSON.stringify(index, null, 2));
  fs.renameSync(tmp, path.join(registry, 'models.json'));
}

before(async () => {
  registry = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-updates-'));
  for (const v of [OLD, NEW]) fs.cpSync(path.join(repo, 'models', v), path.join(registry, v), { recursive: true });
  fs.writeFileSync(
    path.join(registry, 'models.json'),
    JSON.stringify({ ...shipped, versions: shipped.versions.filter((v) => [OLD, NEW].includes(v.version)) }, null, 2),
  );
  viewer = await startViewer({ port: await freePort(), args: ['--models', registry] });
  browser = await launchBrowser({ timeout: 90000 });
  page = browser.page;
  await page.setViewportSize({ width: 1600, height: 1000 });
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
  if (registry) fs.rmSync(registry, { recursive: true, force: true });
});

async function classifiedBy() {
  await page.click(sel('ssclnet-classify'));
  await page.waitForSelector(sel('ssclnet-result'), { timeout: 60000 });
  return page.locator(sel('ssclnet-result')).getAttribute('data-model-version');
}

const relations = () =>
  page
    .locator(sel('ssclnet-version-row'))
    .evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-version'), r.getAttribute('data-relation')]));

test(`rollback: latest pointed back to ${OLD} with a notice is announced and applies at the next classification; a withdrawn version is never offered`, async () => {
  assert.ok(OLD && NEW && OLD !== NEW, 'the shipped registry has two versions');
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${adi.StudyInstanceUID}`);
  await page.waitForSelector(sel('ssclnet-model-version'), { timeout: 120000 });
  assert.equal(await page.textContent(sel('ssclnet-model-version')), NEW);
  assert.equal(await classifiedBy(), NEW);
  await openSection(page, 'model');
  await page.click(sel('ssclnet-check-update'));
  await page.waitForSelector(sel('ssclnet-update-message'));
  assert.match(await page.textContent(sel('ssclnet-update-message')), new RegExp(`${NEW} is the latest`));
  const before = Object.fromEntries(await relations());
  assert.equal(before[NEW], 'in use');
  assert.equal(before[OLD], 'older', 'the older version is offered as older, never as an update');

  // The administrator rolls back, with a notice.
  const notice = 'Rollback after the weekly review of false positives';
  writeIndex((index) => {
    index.latest = OLD;
    index.notice = notice;
  });
  await page.click(sel('ssclnet-check-update'));
  await page.waitForSelector(sel('ssclnet-update-announcement'));
  const announced = await page.textContent(sel('ssclnet-update-announcement'));
  assert.match(announced, new RegExp(`Your administrator switched back to ${OLD}: ${notice}`));
  assert.match(announced, /applies at the next classification/);
  assert.equal(
    await page.textContent(sel('ssclnet-model-version')),
    NEW,
    'nothing changes before the next classification',
  );
  await page.keyboard.press('ArrowDown'); // another slice: not answered from the cache
  await page.waitForTimeout(300);
  assert.equal(await classifiedBy(), OLD, 'the next classification answers with the version rolled back to');
  await page.waitForFunction(
    ([s, v]) => document.querySelector(s)?.textContent === v,
    [sel('ssclnet-model-version'), OLD],
  );
  assert.match(await page.textContent(sel('ssclnet-update-announcement')), new RegExp(`Now using ${OLD}`));
  console.log(`announcement: ${await page.textContent(sel('ssclnet-update-announcement'))}`);

  // The newer version is withdrawn: struck through with its reason, not offered.
  writeIndex((index) => {
    const v = index.versions.find((e) => e.version === NEW);
    v.withdrawn = true;
    v.withdrawn_reason = 'false positives at the skull base';
  });
  await page.click(sel('ssclnet-check-update'));
  await page.waitForFunction(
    ([s, v]) => document.querySelector(`${s}[data-version="${v}"]`)?.getAttribute('data-relation') === 'withdrawn',
    [sel('ssclnet-version-row'), NEW],
  );
  const after = Object.fromEntries(await relations());
  assert.equal(after[OLD], 'in use');
  assert.equal(after[NEW], 'withdrawn');
  assert.equal(await page.locator(sel('ssclnet-confirm-update')).count(), 0, 'no update is offered');
  assert.equal(await page.locator(sel('ssclnet-rollback')).count(), 0, 'no "Back to" a withdrawn version');
  const row = page.locator(`${sel('ssclnet-version-row')}[data-version="${NEW}"]`);
  assert.equal(await row.evaluate((el) => getComputedStyle(el).textDecorationLine), 'line-through');
  assert.equal(await row.getAttribute('title'), 'false positives at the skull base');
  assert.equal(await row.locator(sel('ssclnet-use-version')).count(), 0, 'a withdrawn version cannot be chosen');
  await page.locator(sel('ssclnet-section-model')).scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'updates-rollback-withdrawn')}`);
});
