// Issue 18, as a radiologist meets the viewer (embedded studies, shipped model, headless Chromium at 1600×1000 and
// 1280×720): OHIF's standard toolbar from the host plus our button; the panel in OHIF's look, scrolling inside its
// height with every control reachable; the keyboard (Enter/Space on panel controls, ↑/↓ after a click); history
// rows (one per instance + version, series and slice, jump); a dropped file's result card; the model card; the
// Studies panel and study-list preview of the embedded data source; no DICOM VR errors in the console.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, launchBrowser, repo, sample, screenshot, startViewer, sel, openSection } from './harness.mjs';

const [adi, forrest] = sample.studies;
let viewer, browser, page;
const consoleErrors = [];

before(async () => {
  viewer = await startViewer({ port: await freePort() });
  browser = await launchBrowser({ timeout: 60000 });
  page = browser.page;
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
});

async function open(study, size) {
  await page.setViewportSize(size);
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  await page.waitForSelector(sel('ssclnet-slice'));
  await page.waitForSelector(sel('ssclnet-model-version'), { timeout: 120000 });
}

const sliceText = () => page.textContent(sel('ssclnet-slice')).then((t) => t?.trim());
const waitForSlice = (want) =>
  page.waitForFunction(([s, w]) => document.querySelector(s)?.textContent?.trim() === w, [sel('ssclnet-slice'), want]);

/**
 * Every control of the panel can be brought into view inside the window (the panel scrolls in its own height) and
 * is then fully inside both the window and the panel's box. Returns how many controls were checked.
 */
async function assertEveryControlReachable(label) {
  const size = page.viewportSize();
  const controls = page.locator(
    `${sel('ssclnet-panel')} button, ${sel('ssclnet-panel')} input, ${sel('ssclnet-panel')} summary`,
  );
  const n = await controls.count();
  const panel = await page.locator(sel('ssclnet-panel')).boundingBox();
  assert.ok(
    panel.y + panel.height <= size.height + 1,
    `${label}: the panel fits the window (bottom ${panel.y + panel.height} > ${size.height})`,
  );
  for (let i = 0; i < n; i++) {
    const c = controls.nth(i);
    const visibleTarget = (await c.evaluate((el) => el.type === 'file' || getComputedStyle(el).opacity === '0'))
      ? c.locator('xpath=..')
      : c;
    await visibleTarget.scrollIntoViewIfNeeded();
    const box = await visibleTarget.boundingBox();
    const what = await c.evaluate(
      (el) => el.getAttribute('data-testid') || el.textContent?.trim().slice(0, 30) || el.tagName,
    );
    assert.ok(box && box.width > 0 && box.height > 0, `${label}: ${what} has a size`);
    assert.ok(
      box.y >= 0 && box.y + box.height <= size.height + 1 && box.x >= 0 && box.x + box.width <= size.width + 1,
      `${label}: ${what} is inside the window (${JSON.stringify(box)})`,
    );
    assert.ok(
      box.y >= panel.y - 1 && box.y + box.height <= panel.y + panel.height + 1,
      `${label}: ${what} is inside the panel's box`,
    );
  }
  await page.locator(sel('ssclnet-panel')).evaluate((el) => {
    el.scrollTop = 0;
  });
  return n;
}

test("toolbar: OHIF's standard tools from the host (window/level + presets, zoom, pan, stack scroll, reset, layout) and our classify button", async () => {
  await open(adi, { width: 1600, height: 1000 });
  for (const id of ['WindowLevel', 'Zoom', 'Pan', 'StackScroll', 'Reset', 'ssclnetClassify']) {
    assert.ok(await page.locator(`[data-cy="${id}-btn"]`).isVisible(), `toolbar button ${id}`);
  }
  assert.ok(await page.locator('[data-cy="Layout"], [data-cy="layout-button"]').first().isVisible(), 'layout selector');
  assert.ok(await page.locator('[data-cy="windowLevelMenu-btn"]').count(), 'window/level presets menu on the viewport');
  // Zoom becomes the primary-button tool; Reset is an action.
  await page.click('[data-cy="Zoom-btn"]');
  await page.click('[data-cy="Reset-btn"]');
  // The presets menu lists OHIF's presets.
  await page.locator('[data-cy="windowLevelMenu-btn"]').first().click();
  await page.waitForTimeout(500);
  const menuText = await page.evaluate(() => document.body.innerText);
  assert.match(menuText, /Soft tissue|Brain|Lung|Presets/i, 'window/level presets shown');
  console.log(`screenshot: ${await screenshot(page, 'ux-toolbar-presets-1600x1000')}`);
  await page.keyboard.press('Escape');
  await page.click('[data-cy="WindowLevel-btn"]');
  // The panel's tab is "Brain MRI AI", not "SSCLNet".
  const header = await page.evaluate(() => document.body.innerText);
  assert.match(header, /Brain MRI AI/);
  assert.doesNotMatch(header, /SSCLNet/);
});

test('panel at 1600×1000: OHIF look, plain words, keyboard (Enter/Space), ↑/↓ after a click, series, history, model card', async () => {
  await open(adi, { width: 1600, height: 1000 });
  const box = await page.locator('canvas.cornerstone-canvas').boundingBox();
  // Colours come from the host's theme variables (no native white controls).
  const look = await page.evaluate(() => {
    const file = document.querySelector('[data-testid="ssclnet-file-input"]');
    const header = document.querySelector('[data-testid="ssclnet-section-toggle-slice"]');
    const auto = document.querySelector('[data-testid="ssclnet-auto"]');
    return {
      hostPrimary: getComputedStyle(document.documentElement).getPropertyValue('--primary').trim(),
      headerBg: header && getComputedStyle(header).backgroundColor,
      autoAppearance: auto && getComputedStyle(auto).appearance,
      fileOpacity: file ? getComputedStyle(file).opacity : null,
    };
  });
  assert.ok(look.hostPrimary, 'the host page defines its theme variables');
  assert.notEqual(look.headerBg, 'rgba(0, 0, 0, 0)');
  assert.equal(look.autoAppearance, 'none', 'checkbox drawn in the host style');

  // Keyboard: Tab-focus "Classify slice" and press Enter: it classifies (the host's hotkeys do not swallow it).
  await page.focus(sel('ssclnet-classify'));
  await page.keyboard.press('Enter');
  const card = page.locator(sel('ssclnet-result'));
  await card.waitFor({ timeout: 60000 });
  const cardText = await card.textContent();
  assert.match(cardText, /^Research use only, not for diagnosis\./);
  assert.match(cardText, /No tumour|Glioma|Meningioma|Pituitary tumour/);
  assert.doesNotMatch(cardText.replace(/Details.*$/s, ''), /notumor|wasm|webgl|Inference \d+ ms/);
  assert.equal(
    await page.locator(`${sel('ssclnet-result')} details`).getAttribute('open'),
    null,
    'technical details collapsed',
  );
  const version = await page.textContent(sel('ssclnet-model-version'));
  const panelText = await page.locator(sel('ssclnet-panel')).evaluate((el) => el.innerText);
  assert.equal(panelText.split(version).length - 1, 1, `the version shows once (${panelText})`);
  // Space toggles a focused checkbox; Enter too.
  await page.focus(sel('ssclnet-overlay-toggle'));
  await page.keyboard.press('Space');
  assert.equal(await page.isChecked(sel('ssclnet-overlay-toggle')), false);
  await page.keyboard.press('Enter');
  assert.equal(await page.isChecked(sel('ssclnet-overlay-toggle')), true);
  // A pointer click on a panel checkbox gives focus back: ↓ scrolls the images.
  await page.click(sel('ssclnet-auto'));
  await page.click(sel('ssclnet-auto'));
  assert.equal(await page.isChecked(sel('ssclnet-auto')), false);
  const before = await sliceText();
  await page.keyboard.press('ArrowDown');
  await page.waitForFunction(
    ([s, b]) => document.querySelector(s)?.textContent?.trim() !== b,
    [sel('ssclnet-slice'), before],
  );
  assert.equal(await sliceText(), '2 / 7');
  console.log(`screenshot: ${await screenshot(page, 'ux-panel-result-1600x1000')}`);

  // Series: progress while running, gone when done; then re-classify slice 2: history keeps one row per instance.
  // Record what the progress bar shows while the run goes (it may be quick: two slices are cached).
  await page.evaluate((s) => {
    window.__progress = [];
    new MutationObserver(() => {
      const bar = document.querySelector(s);
      if (bar) window.__progress.push(Number(bar.getAttribute('data-value')));
    }).observe(document.body, { subtree: true, childList: true, attributes: true });
  }, sel('ssclnet-progress'));
  await page.click(sel('ssclnet-classify-series'));
  await page.waitForFunction(
    (s) => /^7 \/ 7 slices/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-series-status'),
    { timeout: 180000 },
  );
  assert.equal(await page.locator(sel('ssclnet-progress')).count(), 0, 'the progress bar is gone when the run is done');
  const seen = await page.evaluate(() => window.__progress);
  assert.ok(seen.length > 0 && seen.some((v) => v > 0), `the progress bar showed progress (${seen.join(',')})`);
  assert.deepEqual(
    [...seen].sort((x, y) => x - y),
    seen,
    'progress only goes up',
  );
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.click(sel('ssclnet-classify'));
  await page.waitForSelector(sel('ssclnet-result'));
  await openSection(page, 'history');
  assert.equal(await page.textContent(sel('ssclnet-history-count')), '7');
  const rows = page.locator(sel('ssclnet-history-row'));
  assert.equal(await rows.count(), 7);
  const sixth = rows.filter({ hasText: 'slice 6:' });
  assert.match(
    await sixth.textContent(),
    /^#6 AX FSE T2, slice 6: (No tumour|Glioma|Meningioma|Pituitary tumour) \d+\.\d%$/,
  );
  await sixth.click();
  await waitForSlice('6 / 7');
  await page.keyboard.press('ArrowUp'); // focus went back to the viewer
  await waitForSlice('5 / 7');
  // Export rounds numbers: probabilities 4 decimals, ms 1 decimal.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click(sel('ssclnet-export-json'))]);
  const { readFile } = await import('node:fs/promises');
  const json = JSON.parse(await readFile(await download.path(), 'utf8'));
  assert.equal(json.classifications.length, 7);
  for (const c of json.classifications) {
    assert.match(String(c.ms), /^\d+(\.\d)?$/);
    for (const p of c.probabilities)
      assert.ok(Math.abs(p * 1e4 - Math.round(p * 1e4)) < 1e-6, `probability ${p} has at most 4 decimals`);
  }

  // The model card, from the loaded card.
  await openSection(page, 'model');
  const cardView = await page.textContent(sel('ssclnet-model-card'));
  assert.match(cardView, /Intended use.*not for diagnosis/s);
  assert.match(cardView, /Limits/);
  assert.match(cardView, /Training data/);
  assert.match(cardView, /In range/);
  assert.match(cardView, /Accuracy \d+\.\d %/);
  const n = await assertEveryControlReachable('1600×1000');
  console.log(`1600×1000: ${n} panel controls reachable`);
  await page.locator(sel('ssclnet-section-model')).scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'ux-panel-model-card-1600x1000')}`);
});

test('panel at 1280×720: scrolls inside its height, every control reachable; a dropped file gets the full result card', async () => {
  await open(adi, { width: 1280, height: 720 });
  await page.click(sel('ssclnet-classify'));
  await page.waitForSelector(sel('ssclnet-result'), { timeout: 60000 });
  for (const id of ['history', 'file', 'model']) await openSection(page, id);
  const jpeg = path.join(repo, 'tests', 'fixtures', 'parity', 'jpeg', 'glioma-tr-Tr-gl_0020.jpg');
  await page.setInputFiles(sel('ssclnet-file-input'), jpeg);
  const fileCard = page.locator(sel('ssclnet-file-card'));
  await fileCard.waitFor({ timeout: 60000 });
  const declined = await fileCard.getAttribute('data-declined');
  if (declined === 'true') assert.match(await fileCard.textContent(), /Outside the model's range/);
  else assert.equal(await fileCard.locator(sel('ssclnet-prob')).count(), 4);
  assert.equal(await fileCard.locator(sel('ssclnet-thumbnail')).count(), 1, 'a thumbnail of what was classified');
  assert.match(await fileCard.textContent(), /^Research use only/);
  // A dropped DICOM file: the same card, its thumbnail the model's view of the slice (decoded in the worker).
  const dicomDir = path.join(repo, 'demo', 'sample-study', 'adi-t2-axial');
  const dicom = path.join(dicomDir, fs.readdirSync(dicomDir).filter((f) => f.endsWith('.dcm'))[3]);
  await page.setInputFiles(sel('ssclnet-file-input'), dicom);
  await page.waitForSelector(
    `${sel('ssclnet-file-result')}[data-name="${path.basename(dicom)}"] ${sel('ssclnet-file-card')}`,
    {
      timeout: 60000,
    },
  );
  const dicomThumb = await fileCard.locator(sel('ssclnet-thumbnail')).getAttribute('src');
  assert.match(dicomThumb ?? '', /^data:image\/png;base64,/, 'a DICOM file gets a thumbnail too');
  if ((await fileCard.getAttribute('data-declined')) !== 'true')
    assert.equal(await fileCard.locator(sel('ssclnet-prob')).count(), 4);
  const scroll = await page
    .locator(sel('ssclnet-panel'))
    .evaluate((el) => ({ sh: el.scrollHeight, ch: el.clientHeight, oy: getComputedStyle(el).overflowY }));
  assert.equal(scroll.oy, 'auto');
  assert.ok(
    scroll.sh > scroll.ch,
    `the panel's content is taller than its box at 1280×720 (${scroll.sh} > ${scroll.ch}) and scrolls`,
  );
  const n = await assertEveryControlReachable('1280×720');
  console.log(`1280×720: ${n} panel controls reachable`);
  await fileCard.scrollIntoViewIfNeeded();
  console.log(`screenshot: ${await screenshot(page, 'ux-panel-file-1280x720')}`);
  await page.locator(sel('ssclnet-panel')).evaluate((el) => {
    el.scrollTop = 0;
  });
  console.log(`screenshot: ${await screenshot(page, 'ux-panel-top-1280x720')}`);
});

test('embedded data source: the Studies panel shows the open (second) study with thumbnails; the study list preview lists its series; no VR errors', async () => {
  consoleErrors.length = 0;
  await open(forrest, { width: 1600, height: 1000 });
  await page.waitForTimeout(1500);
  const left = page.locator('[data-cy="studyBrowser-panel"]');
  await left.waitFor();
  const leftText = await left.textContent();
  assert.match(leftText, /T1w|anat|T1/i, `the Studies panel shows the open study (${leftText})`);
  assert.doesNotMatch(leftText, /AX FSE T2/, 'not the first study of the manifest');
  await page.waitForFunction(
    () => [...document.querySelectorAll('[data-cy="studyBrowser-panel"] img')].some((i) => i.naturalWidth > 0),
    null,
    { timeout: 30000 },
  );
  console.log(`screenshot: ${await screenshot(page, 'ux-studies-panel-second-study')}`);
  const vr = consoleErrors.filter((e) => /Invalid length for fixed length tag/.test(e));
  assert.equal(vr.length, 0, `no VR errors (${vr.slice(0, 2).join(' | ')})`);

  consoleErrors.length = 0;
  await page.goto(`${viewer.url}/`);
  await page.getByText('Volunteer^Forrest').first().click();
  await page.getByRole('button', { name: /Brain MRI AI/ }).waitFor();
  await page.waitForTimeout(1500);
  const body = await page.evaluate(() => document.body.innerText);
  assert.doesNotMatch(body, /No Series/);
  assert.match(body, /anat-T1w/, "the study list's preview lists the study's series");
  assert.equal(consoleErrors.filter((e) => /TypeError/.test(e)).length, 0, consoleErrors.join(' | '));
  // The study list's mode button shows its whole name.
  const fits = await page
    .getByRole('button', { name: /Brain MRI AI/ })
    .evaluate((b) => b.scrollWidth <= b.clientWidth + 1);
  assert.ok(fits, 'the mode button text fits');
  console.log(`screenshot: ${await screenshot(page, 'ux-study-list-preview')}`);
});

test("hotkeys: the extension's commands appear in OHIF's hotkey preferences", async () => {
  await open(adi, { width: 1600, height: 1000 });
  const bindings = await page.evaluate(() => {
    // OHIF keeps hotkeys in its 'ohif.hotkeyBindings' customization; the preferences dialog lists those.
    return document.body.innerText;
  });
  assert.ok(bindings);
  // Open the preferences from the header's settings menu.
  // The settings menu: the gear at the header's right end (OHIF's header button has no data-cy of its own).
  const gear = page.locator('header button:visible, [class*="header"] button:visible').last();
  const box = (await gear.count()) ? await gear.boundingBox() : null;
  if (box && box.x > page.viewportSize().width - 80) await gear.click();
  else await page.mouse.click(page.viewportSize().width - 18, 24);
  await page
    .getByText(/Preferences/i)
    .first()
    .click();
  await page.getByText('Classify slice').first().waitFor({ timeout: 10000 });
  const text = await page.evaluate(() => document.body.innerText);
  for (const label of [
    'Classify slice',
    'Classify series',
    'Cancel classification',
    'Show/hide classification overlay',
    'Switch to the latest model',
  ]) {
    assert.ok(text.includes(label), `hotkey preferences list "${label}"`);
  }
  console.log(`screenshot: ${await screenshot(page, 'ux-hotkey-preferences')}`);
});
