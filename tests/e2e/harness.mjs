// Shared pieces of the end-to-end tests: free ports, the viewer server and Orthanc as child processes that
// the tests start and stop, and one headless Debian Chromium.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const artifacts = path.join(repo, 'test-artifacts');
export const CHROMIUM = process.env.SSCLNET_CHROMIUM ?? '/usr/bin/chromium';

/** The embedded studies, read from the committed manifest (the tests check what the viewer shows of them). */
export const sample = JSON.parse(fs.readFileSync(path.join(repo, 'demo', 'sample-study', 'study.json'), 'utf8'));

/** The sample file (relative to demo/sample-study) of a SOP Instance UID, or null. */
export function fileOfSop(sop) {
  for (const study of sample.studies)
    for (const series of study.series)
      for (const inst of series.instances) {
        if (inst.metadata.SOPInstanceUID === sop) return inst.url;
      }
  return null;
}

/**
 * The Node evaluator (tools/evaluator/evaluate.ts: the viewer's inference module on tfjs wasm) over every sample DICOM
 * file with the registry's latest model. Returns its probabilities by sample file; `dir` is a scratch folder.
 */
export function nodeEvaluatorProbabilities(registry, dir) {
  const data = path.join(dir, 'data');
  for (const study of sample.studies) {
    for (const series of study.series) {
      for (const inst of series.instances) {
        // The evaluator wants a class folder; the label is irrelevant here (only the probabilities are compared).
        const dst = path.join(data, 'notumor', inst.url.replace('/', '__'));
        fs.mkdirSync(path.dirname(dst), { recursive: true });
        fs.copyFileSync(path.join(repo, 'demo', 'sample-study', inst.url), dst);
      }
    }
  }
  const out = path.join(dir, 'node-eval.json');
  execFileSync(
    process.execPath,
    [
      path.join(repo, 'node_modules', 'ts-node', 'dist', 'bin.js'),
      '-P',
      'tools/evaluator/tsconfig.json',
      'tools/evaluator/evaluate.ts',
      '--model',
      registry,
      '--data',
      data,
      '--json',
      out,
    ],
    { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const byFile = new Map();
  for (const p of JSON.parse(fs.readFileSync(out, 'utf8')).predictions) {
    byFile.set(path.basename(p.file).replace('__', '/'), p.probabilities);
  }
  return byFile;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts server/serve.mjs; resolves once it prints its URL. `stop()` ends it. */
export async function startViewer({ port, args = [], env = {} }) {
  const child = spawn(process.execPath, [path.join(repo, 'server', 'serve.mjs'), '--port', String(port), ...args], {
    cwd: repo,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`viewer server did not start in 15 s: ${out}`)), 15000);
    const onData = (d) => {
      out += d;
      if (/SSCLNet viewer: http/.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d) => {
      out += d;
    });
    exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`viewer server exited (${code}): ${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    alive: () => child.exitCode === null,
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** The project's Orthanc (pacs/orthanc.sh) on a free port in a temporary folder, loaded with the sample. */
export async function startOrthanc() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-orthanc-'));
  const sh = (...a) =>
    execFileSync('bash', [path.join(repo, 'pacs', 'orthanc.sh'), ...a, '--port', String(port), '--dir', dir], {
      cwd: repo,
      encoding: 'utf8',
    });
  sh('start');
  try {
    sh('load');
  } catch (err) {
    sh('stop');
    throw err;
  }
  return {
    dicomWebUrl: `http://127.0.0.1:${port}/dicom-web`,
    stop: () => {
      sh('stop');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh headless Chromium profile; `page` is its first tab, with `timeout` as the default wait. */
export async function launchBrowser({ timeout = 30000 } = {}) {
  const { chromium } = await import('playwright-core');
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(timeout);
  return {
    context,
    page,
    close: async () => {
      await context.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Fraction of pixels of the viewport's canvas that are not near-black, and a small fingerprint of them. */
export async function canvasStats(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('canvas.cornerstone-canvas');
    if (!canvas || !canvas.width || !canvas.height) return { lit: 0, hash: 0 };
    const ctx = canvas.getContext('2d');
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let lit = 0,
      hash = 0;
    for (let i = 0; i < data.length; i += 4) {
      const v = data[i] + data[i + 1] + data[i + 2];
      if (v > 30) lit += 1;
      if ((i & 1023) === 0) hash = (hash * 31 + v) >>> 0;
    }
    return { lit: lit / (data.length / 4), hash };
  });
}

export async function screenshot(page, name) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  return path.relative(repo, file);
}

/** The selector of a panel element by its data-testid. */
export const sel = (id) => `[data-testid="${id}"]`;

/** Opens one of the panel's collapsible sections (`ssclnet-section-<id>`) if it is closed. */
export async function openSection(page, id) {
  const section = page.locator(sel(`ssclnet-section-${id}`));
  if ((await section.getAttribute('data-open')) !== 'true') await page.click(sel(`ssclnet-section-toggle-${id}`));
  await page.waitForSelector(`${sel(`ssclnet-section-${id}`)}[data-open="true"]`);
}
