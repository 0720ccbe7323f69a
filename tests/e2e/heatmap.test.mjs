// The heatmap on the viewport (issue 14), end to end in headless Chromium on the embedded study: Shift+H draws a
// colour-mapped layer over the image (Grad-CAM of the displayed slice's predicted class, computed in the inference
// worker); the layer stays on the image through zoom, pan, window/level and a resize (its bounds are compared with
// the image's bounds); the opacity control changes it; in auto mode it follows the slice; a declined slice gets none.
// The registry is made at test start (random weights, 64 px) with a metadata rule (at most 6.5° from axial) that
// keeps the ADI series (5.7°) and declines the studyforrest series (7.7°).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, launchBrowser, repo, sample, screenshot, startViewer, sel } from './harness.mjs';

const [adi, forrest] = sample.studies;
const VERSION = 'e2e-heatmap-64';

let work, viewer, browser, page;

function python(args) {
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(repo, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  return execFileSync('python3', args, { cwd: repo, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function makeRegistry(dir) {
  const ckpt = path.join(dir, 'random.pt');
  const model = path.join(dir, 'model');
  python(['-m', 'ssclnet.parity', 'random-checkpoint', '--out', ckpt, '--input-size', '64', '--seed', '11']);
  python(['-m', 'ssclnet.cli', 'export', '--checkpoint', ckpt, '--out', model, '--version', VERSION]);
  const cardFile = path.join(model, 'model-card.json');
  const card = JSON.parse(fs.readFileSync(cardFile, 'utf8'));
  card.in_range = {
    ...(card.in_range ?? {}),
    metadata: { ...(card.in_range?.metadata ?? {}), max_angle_from_axial_deg: 6.5 },
  };
  fs.writeFileSync(cardFile, JSON.stringify(card, null, 2));
  const registry = path.join(dir, 'registry');
  python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--model', model]);
  return registry;
}

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-e2e-heatmap-'));
  const registry = makeRegistry(work);
  viewer = await startViewer({ port: await freePort(), args: ['--models', registry] });
  browser = await launchBrowser({ timeout: 90000 });
  page = browser.page;
});
after(async () => {
  await browser?.close();
  await viewer?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

async function openStudy(study, first) {
  await page.goto(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=${study.StudyInstanceUID}`);
  await page.waitForFunction(
    ([s, want]) => document.querySelector(s)?.textContent?.trim() === want,
    [sel('ssclnet-slice'), first],
  );
  await page.waitForSelector(sel('ssclnet-model-version'));
  await page.waitForSelector('canvas.cornerstone-canvas');
}

/**
 * The layer's box and the image's box on the page, the image's from the host Cornerstone's viewport (its index ->
 * world -> canvas transforms, independent of the layer's own CSS), plus the box of the image's lit pixels.
 */
function boxes() {
  return page.evaluate(() => {
    const layer = document.querySelector('[data-testid="ssclnet-heatmap"]');
    const canvas = document.querySelector('canvas.cornerstone-canvas');
    const cs = window.cornerstone;
    const vp = cs.getEnabledElements()[0].viewport;
    const data = vp.getImageData();
    const [w, h] = data.dimensions;
    const corners = [
      [-0.5, -0.5],
      [w - 0.5, -0.5],
      [-0.5, h - 0.5],
      [w - 0.5, h - 0.5],
    ].map(([i, j]) => vp.worldToCanvas(data.imageData.indexToWorld([i, j, 0])));
    const cr = canvas.getBoundingClientRect();
    const xs = corners.map((c) => c[0] + cr.left);
    const ys = corners.map((c) => c[1] + cr.top);
    const lr = layer?.getBoundingClientRect();
    return {
      layer: lr && layer.style.display !== 'none' ? { x: lr.left, y: lr.top, w: lr.width, h: lr.height } : null,
      image: {
        x: Math.min(...xs),
        y: Math.min(...ys),
        w: Math.max(...xs) - Math.min(...xs),
        h: Math.max(...ys) - Math.min(...ys),
      },
      opacity: layer ? Number(getComputedStyle(layer).opacity) : null,
      size: layer ? [layer.width, layer.height] : null,
      dims: [w, h],
    };
  });
}

function assertAligned(b, what) {
  assert.ok(b.layer, `${what}: the layer is shown`);
  for (const k of ['x', 'y', 'w', 'h'])
    assert.ok(
      Math.abs(b.layer[k] - b.image[k]) < 1.5,
      `${what}: layer ${k} ${b.layer[k].toFixed(1)} vs image ${b.image[k].toFixed(1)}`,
    );
}

test('Shift+H draws the heatmap over the image; it stays aligned through zoom, pan, window/level; opacity; auto mode follows the slice', async () => {
  await openStudy(adi, '1 / 7');
  const box = await page.locator('canvas.cornerstone-canvas').boundingBox();
  await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
  await page.keyboard.press('Shift+H');
  await page.waitForSelector(sel('ssclnet-heatmap'));
  const info = page.locator(sel('ssclnet-heatmap-info'));
  await info.waitFor();
  const ms = Number(await info.getAttribute('data-ms'));
  const forwardMs = Number(await info.getAttribute('data-forward-ms'));
  console.log(
    `heatmap in the worker: ${ms.toFixed(0)} ms; classification (preprocessing + forward + gates) ${forwardMs.toFixed(0)} ms: ${await info.textContent()}`,
  );
  await page.waitForTimeout(300);
  const b0 = await boxes();
  assert.deepEqual(b0.size, b0.dims, "the layer has the image's own pixel grid");
  assertAligned(b0, 'as opened');
  assert.ok(Math.abs(b0.opacity - 0.45) < 1e-6);
  // The layer shows something: some of its pixels are coloured.
  const coloured = await page.evaluate(() => {
    const l = document.querySelector('[data-testid="ssclnet-heatmap"]');
    const d = l.getContext('2d').getImageData(0, 0, l.width, l.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n / (d.length / 4);
  });
  assert.ok(coloured > 0.01, `coloured fraction ${coloured}`);
  console.log(`screenshot: ${await screenshot(page, 'heatmap-on')}`);

  // Zoom and pan (the host's Cornerstone camera, as the Zoom and Pan tools set it): the layer follows the image.
  await page.evaluate(() => {
    const vp = window.cornerstone.getEnabledElements()[0].viewport;
    vp.setZoom(2.2);
    vp.setPan([60, -35]);
    vp.render();
  });
  await page.waitForTimeout(400);
  const b1 = await boxes();
  assertAligned(b1, 'zoomed and panned');
  assert.ok(
    b1.layer.w > b0.layer.w * 2,
    `zoom enlarged the layer (${b0.layer.w.toFixed(0)} -> ${b1.layer.w.toFixed(0)} px)`,
  );
  assert.ok(Math.abs(b1.layer.x - b0.layer.x) > 20, 'the layer moved with the pan');
  // A right-drag with the mouse (the Zoom tool on the secondary button) as a radiologist does it.
  const c = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  await page.mouse.move(c.x, c.y);
  await page.mouse.down({ button: 'right' });
  await page.mouse.move(c.x, c.y - 60, { steps: 6 });
  await page.mouse.up({ button: 'right' });
  await page.waitForTimeout(400);
  const b2 = await boxes();
  assertAligned(b2, 'after a zoom drag');
  // Window/level changes the image's brightness, not its place: still aligned, layer unchanged.
  await page.evaluate(() => {
    const vp = window.cornerstone.getEnabledElements()[0].viewport;
    vp.setProperties({ voiRange: { lower: 0, upper: 300 } });
    vp.render();
  });
  await page.waitForTimeout(300);
  assertAligned(await boxes(), 'after window/level');
  console.log(`screenshot: ${await screenshot(page, 'heatmap-zoom-pan')}`);

  // Opacity control.
  await page.locator(sel('ssclnet-heatmap-opacity')).fill('80');
  await page.waitForFunction(
    () => Number(getComputedStyle(document.querySelector('[data-testid="ssclnet-heatmap"]')).opacity) === 0.8,
  );

  // Reset the camera; auto mode: the layer goes with the slice it described and comes back for the new one.
  await page.evaluate(() => {
    const vp = window.cornerstone.getEnabledElements()[0].viewport;
    vp.resetCamera();
    vp.render();
  });
  await page.check(sel('ssclnet-auto'));
  await page.mouse.move(c.x, c.y);
  await page.mouse.wheel(0, 120);
  await page.mouse.wheel(0, 120);
  await page.waitForFunction((s) => document.querySelector(s)?.textContent?.trim() === '3 / 7', sel('ssclnet-slice'));
  await page.waitForFunction(
    (s) => /\(slice 3\)/.test(document.querySelector(s)?.textContent ?? ''),
    sel('ssclnet-heatmap-info'),
  );
  await page.waitForTimeout(300);
  assertAligned(await boxes(), 'slice 3 in auto mode');
  const warm = await info.evaluate((el) => [
    Number(el.getAttribute('data-ms')),
    Number(el.getAttribute('data-forward-ms')),
  ]);
  console.log(`heatmap, warm (slice 3, auto mode): ${warm[0].toFixed(0)} ms; classification ${warm[1].toFixed(0)} ms`);
  await page.uncheck(sel('ssclnet-auto'));

  // Shift+H hides it.
  await page.mouse.click(c.x, c.y);
  await page.keyboard.press('Shift+H');
  await page.waitForSelector(sel('ssclnet-heatmap'), { state: 'detached' });
});

test("a declined slice (outside the model's range) gets no heatmap", async () => {
  await openStudy(forrest, '1 / 9');
  await page.check(sel('ssclnet-heatmap-toggle'));
  const declined = page.locator(sel('ssclnet-heatmap-declined'));
  await declined.waitFor();
  assert.match(await declined.textContent(), /outside the model's range: .*axial/i);
  assert.equal(await page.locator(sel('ssclnet-heatmap')).count(), 0, 'no layer over a declined slice');
  // The panel's own classification agrees.
  await page.click(sel('ssclnet-classify'));
  await page.waitForSelector(`${sel('ssclnet-result')}[data-declined="true"]`);
  await page.waitForTimeout(500);
  assert.equal(await page.locator(sel('ssclnet-heatmap')).count(), 0);
  console.log(`declined: ${await declined.textContent()}`);
  console.log(`screenshot: ${await screenshot(page, 'heatmap-declined')}`);
});
