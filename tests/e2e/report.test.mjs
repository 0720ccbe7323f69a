// The classification SR against the project's Orthanc (pacs/orthanc.sh on a free port, loaded with the sample
// study): STOW-RS straight into Orthanc's DICOMweb, QIDO-RS back, parsed to the same numbers; a second save of the
// same result, a changed result, and a rejected file. The client side runs in tests/fixtures/report/orthanc-roundtrip.ts.
// Then OHIF's own SR viewport (the Basic Viewer mode, headless Chromium) opens the stored SR and shows its tree.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CHROMIUM, freePort, launchBrowser, repo, screenshot, startOrthanc, startViewer } from './harness.mjs';

const haveOrthanc =
  fs.existsSync('/usr/sbin/Orthanc') && fs.existsSync('/usr/share/orthanc/plugins/libOrthancDicomWeb.so');
let orthanc = null;
let out = null;

before(async () => {
  if (!haveOrthanc) return;
  orthanc = await startOrthanc();
  const stdout = execFileSync(
    process.execPath,
    [
      path.join(repo, 'node_modules', 'ts-node', 'dist', 'bin.js'),
      '--transpile-only',
      'tests/fixtures/report/orthanc-roundtrip.ts',
      orthanc.dicomWebUrl,
    ],
    {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
      env: {
        ...process.env,
        TS_NODE_COMPILER_OPTIONS: JSON.stringify({
          module: 'commonjs',
          moduleResolution: 'node',
          esModuleInterop: true,
          target: 'ES2020',
        }),
      },
    },
  );
  out = JSON.parse(stdout);
  if (process.env.SSCLNET_REPORT_DEBUG)
    console.log(JSON.stringify({ second: out.second, rejected: out.rejected, first: out.first }, null, 1));
});

after(() => orthanc?.stop());

const skip = haveOrthanc
  ? false
  : 'Orthanc with the DICOMweb plugin is not installed (apt-get install orthanc orthanc-dicomweb)';

test('STOW-RS stores the SR; QIDO-RS finds it; the numbers come back the same', { skip }, () => {
  assert.deepEqual(out.first.stored, [out.built.sop]);
  assert.deepEqual(out.phases, ['sending', 'waiting', 'done']);
  assert.deepEqual(out.afterFirst, [out.built.sop]);
  assert.deepEqual(out.prior.skipped, []);
  assert.equal(out.prior.reports.length, 1);
  const rep = out.prior.reports[0];
  assert.equal(rep.sopInstanceUID, out.built.sop);
  assert.equal(rep.studyInstanceUID, out.studyUID);
  assert.equal(rep.modelVersion, '2026.11.23-2');
  assert.match(rep.contentDateTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/);
  assert.equal(rep.slices.length, 7);
  for (const [i, s] of rep.slices.entries()) {
    const e = out.expected[i];
    assert.equal(s.sopInstanceUID, e.sop);
    assert.equal(s.label, e.label);
    assert.deepEqual(s.probabilities, e.probabilities);
    assert.deepEqual(s.outOfRange, e.outOfRange);
  }
  assert.deepEqual(rep.summary.claimed, ['meningioma']);
});

test('a second save of the same result: same SOP Instance UID, nothing duplicated', { skip }, () => {
  assert.equal(out.built.againSop, out.built.sop);
  // Orthanc answers 200 and lists the instance as stored (it keeps the first copy: OverwriteInstances is false)
  assert.deepEqual(out.second.stored, [out.built.sop]);
  assert.deepEqual(out.afterSecond, [out.built.sop]);
});

test('a changed result: a new instance in the same SR series', { skip }, () => {
  assert.notEqual(out.built.changedSop, out.built.sop);
  assert.deepEqual(out.afterChanged, [out.built.sop, out.built.changedSop].sort());
});

test('a rejected file: a clear StoreError and nothing stored', { skip }, () => {
  assert.ok(out.rejected, 'storeInstances should have thrown');
  // Orthanc 1.10 answers 400 with an empty FailedSOPSequence to a file it cannot parse
  assert.match(out.rejected.message, /^The PACS (could not accept|rejected) the report.*Nothing was stored\.$/);
  assert.equal(out.seriesAfterReject, 2); // the T2 series and our SR series, nothing else
});

const haveBrowser = fs.existsSync(CHROMIUM) && fs.existsSync(path.join(repo, '.ohif'));
const skipBrowser =
  skip ||
  (haveBrowser
    ? false
    : `no Chromium at ${CHROMIUM} or no OHIF dist in .ohif (bash scripts/setup.sh --viewer --system)`);

test("OHIF's own SR viewport opens the SR and shows its tree", { skip: skipBrowser, timeout: 240_000 }, async () => {
  const viewer = await startViewer({ port: await freePort(), args: ['--pacs', orthanc.dicomWebUrl] });
  const browser = await launchBrowser({ timeout: 90_000 });
  const errors = [];
  try {
    const { page } = browser;
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => {
      if (/Error Boundary|TypeError/.test(m.text())) errors.push(m.text().slice(0, 300));
    });
    await page.goto(`${viewer.url}/viewer/orthanc?StudyInstanceUIDs=${out.studyUID}`);
    await page.waitForSelector('canvas.cornerstone-canvas', { timeout: 120_000 });
    await page.getByText('SSCLNet classification').first().dblclick();
    await page.getByText('Oncology Measurement Report').first().waitFor();
    const text = await page.evaluate(() => document.body.innerText);
    await screenshot(page, 'report-ohif-sr');
    assert.match(text, /Research use only, not for diagnosis/);
    assert.match(text, /Observer Type:\s*Device/);
    assert.match(text, /Finding:\s*Intracranial meningioma/);
    assert.match(text, /Probability of meningioma:\s*0\.\d+ \{probability\}/);
    assert.doesNotMatch(text, /Something went wrong/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await viewer.stop();
  }
});
