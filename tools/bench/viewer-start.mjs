#!/usr/bin/env node
// Prints how long the demo takes from `npm start` to an image drawn in our mode (embedded sample study),
// with caches warm (OHIF dist fetched, bundles built). The browser is launched before the clock starts.
//   node tools/bench/viewer-start.mjs [runs=3]
import { spawn } from 'node:child_process';
import { canvasStats, freePort, launchBrowser, repo, sample } from '../../tests/e2e/harness.mjs';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(
    'usage: node tools/bench/viewer-start.mjs [RUNS=3]\nTimes `npm start` to an image drawn in our mode ' +
      '(embedded sample study, warm caches), RUNS times, in headless Chromium; prints each run and the median.',
  );
  process.exit(0);
}
const runs = Number(process.argv[2] ?? 3);
if (!Number.isInteger(runs) || runs < 1) {
  console.error(`viewer-start: RUNS must be a positive integer, got ${process.argv[2]} (see --help)`);
  process.exit(2);
}
const uid = sample.studies[0].StudyInstanceUID;
const browser = await launchBrowser();
const results = [];
try {
  for (let r = 0; r < runs; r++) {
    const port = await freePort();
    const t0 = performance.now();
    // detached: its own process group, so the whole npm -> bash -> node chain is stopped afterwards.
    const child = spawn('npm', ['start', '--silent', '--', '--port', String(port)], {
      cwd: repo,
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    await new Promise((resolve, reject) => {
      child.stdout.on('data', (d) => {
        out += d;
        if (/SSCLNet viewer: http/.test(out)) resolve();
      });
      child.once('exit', (code) => reject(new Error(`npm start exited (${code}): ${out}`)));
    });
    const tServer = performance.now();
    const page = await browser.context.newPage();
    await page.goto(`http://127.0.0.1:${port}/ssclnet/dicomjson?StudyInstanceUIDs=${uid}`);
    await page.waitForSelector('canvas.cornerstone-canvas', { timeout: 60000 });
    while ((await canvasStats(page)).lit < 0.03) await page.waitForTimeout(50);
    const tImage = performance.now();
    await page.close();
    process.kill(-child.pid, 'SIGTERM');
    results.push({ server: tServer - t0, image: tImage - t0 });
    console.log(
      `run ${r + 1}: server ready ${(tServer - t0).toFixed(0)} ms, image drawn ${(tImage - t0).toFixed(0)} ms after npm start`,
    );
  }
} finally {
  await browser.close();
}
const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(
  `median of ${runs}: server ready ${median(results.map((r) => r.server)).toFixed(0)} ms, image drawn ${median(results.map((r) => r.image)).toFixed(0)} ms`,
);
