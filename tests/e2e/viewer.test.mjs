// OHIF 3.13 with our extension and mode in headless Chromium, on both data sources: the embedded sample
// studies (dicomjson) and a real Orthanc PACS (DICOMweb, started here). One browser, few page loads.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { canvasStats, freePort, launchBrowser, sample, screenshot, startOrthanc, startViewer } from './harness.mjs';

const [adi, forrest] = sample.studies;
const SLICE = '[data-testid="ssclnet-slice"]';
const SERIES = '[data-testid="ssclnet-series"]';

let orthanc, viewer, browser, page;
before(async () => {
  orthanc = await startOrthanc();
  // No --pacs: the embedded studies are the default; the PACS is the 'orthanc' data source via the env variable.
  viewer = await startViewer({ port: await freePort(), env: { SSCLNET_PACS_URL: orthanc.dicomWebUrl } });
  browser = await launchBrowser();
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
  orthanc?.stop();
});

async function waitForDrawnImage() {
  await page.waitForSelector('canvas.cornerstone-canvas');
  let stats;
  for (let i = 0; i < 100; i++) {
    stats = await canvasStats(page);
    if (stats.lit > 0.03) return stats;
    await page.waitForTimeout(100);
  }
  assert.fail(`viewport canvas stayed blank (${(stats.lit * 100).toFixed(1)}% lit pixels)`);
}

async function sliceText() {
  return (await page.textContent(SLICE))?.trim();
}

async function waitForSlice(expected) {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel)?.textContent?.trim() === want,
    [SLICE, expected],
  );
}

test('embedded studies: study list (mode offered for MR only), open in our mode, image drawn, panel follows the mouse wheel', async () => {
  // The T1w study is relabelled CT on its way to the study list: our mode must not be offered for it
  // (OHIF 3.13's study list hides modes whose isValidMode is false), while OHIF's own modes still are.
  await page.route('**/sample-study/manifest.json', async (route) => {
    const response = await route.fetch();
    const manifest = await response.json();
    manifest.studies.find((s) => s.StudyInstanceUID === forrest.StudyInstanceUID).Modalities = 'CT';
    await route.fulfill({ response, json: manifest });
  });
  const t0 = Date.now();
  await page.goto(`${viewer.url}/`);
  await page.getByText('Volunteer^Forrest').first().click();
  await page.getByRole('button', { name: 'Basic Viewer' }).waitFor();
  assert.equal(await page.getByRole('button', { name: /Brain MRI AI/ }).count(), 0, 'mode offered for a CT study');
  await page.unroute('**/sample-study/manifest.json');

  await page.getByText('Volunteer^ADI').first().click();
  await page.getByRole('button', { name: /Brain MRI AI/ }).click();
  await page.waitForURL(/\/ssclnet(\/dicomjson)?\?/);
  assert.match(page.url(), new RegExp(`StudyInstanceUIDs=${adi.StudyInstanceUID.replace(/\./g, '\\.')}`));

  await waitForSlice('1 / 7');
  const before = await waitForDrawnImage();
  console.log(`study list to drawn image (embedded): ${Date.now() - t0} ms`);
  assert.equal(await page.textContent(SERIES), '#6 AX FSE T2');
  console.log(`screenshot: ${await screenshot(page, 'embedded-slice-1')}`);

  const box = await page.locator('canvas.cornerstone-canvas').boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 120);
  await waitForSlice('2 / 7');
  await page.mouse.wheel(0, 120);
  await waitForSlice('3 / 7');
  await page.waitForTimeout(300);
  const afterScroll = await canvasStats(page);
  assert.notEqual(afterScroll.hash, before.hash, 'the drawn image should change with the slice');
  console.log(`screenshot: ${await screenshot(page, 'embedded-slice-3')}`);
});

test('Orthanc PACS over DICOMweb: study list, open in our mode, image drawn, keyboard scrolling', async () => {
  await page.goto(`${viewer.url}/?datasources=orthanc`);
  // OHIF formats the PACS's person names ("Volunteer, Forrest"); the dicomjson list shows them as stored.
  await page
    .getByText(/Volunteer\W+Forrest/)
    .first()
    .waitFor();
  await page
    .getByText(/Volunteer\W+ADI/)
    .first()
    .waitFor();
  console.log(`screenshot: ${await screenshot(page, 'orthanc-study-list')}`);

  const t0 = Date.now();
  await page.goto(`${viewer.url}/ssclnet/orthanc?StudyInstanceUIDs=${forrest.StudyInstanceUID}`);
  await waitForSlice('1 / 9');
  await waitForDrawnImage();
  console.log(`page load to drawn image (Orthanc): ${Date.now() - t0} ms`);
  assert.equal(await page.textContent(SERIES), '#401 anat-T1w');

  await page.keyboard.press('ArrowDown');
  await waitForSlice('2 / 9');
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await waitForSlice('4 / 9');
  await page.keyboard.press('ArrowUp');
  await waitForSlice('3 / 9');
  assert.equal(await sliceText(), '3 / 9');
  console.log(`screenshot: ${await screenshot(page, 'orthanc-slice-3')}`);
});

test("a PACS that does not answer: OHIF's error page, the server stays up", async () => {
  const deadPacs = `http://127.0.0.1:${await freePort()}/dicom-web`;
  const broken = await startViewer({ port: await freePort(), args: ['--pacs', deadPacs] });
  try {
    await page.goto(`${broken.url}/ssclnet/orthanc?StudyInstanceUIDs=${adi.StudyInstanceUID}`);
    await page.getByText(/requested studies are not available/).waitFor();
    console.log(`screenshot: ${await screenshot(page, 'pacs-down')}`);
    const res = await fetch(`${broken.url}/dicom-web/studies`);
    assert.equal(res.status, 502);
    assert.equal((await fetch(`${broken.url}/`)).status, 200);
    assert.ok(broken.alive());
  } finally {
    await broken.stop();
  }
});
