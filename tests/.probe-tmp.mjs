import { chromium } from 'playwright-core';
import fs from 'node:fs';
const base = process.argv[2]; const route = process.argv[3] ?? '/';
const udd = fs.mkdtempSync('/tmp/sx/udd-');
const ctx = await chromium.launchPersistentContext(udd, { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox','--disable-background-networking','--disable-component-update','--disable-sync','--no-first-run','--disable-quic'],
  viewport: { width: 1400, height: 900 } });
const page = ctx.pages()[0] ?? await ctx.newPage();
page.on('console', (m) => { if (['error','warning'].includes(m.type())) console.log('console.'+m.type(), m.text().slice(0,300)); });
page.on('pageerror', (e) => console.log('pageerror', e.message));
page.on('request', r => { if (!/bundle|\.css|assets|\.wasm/.test(r.url())) console.log('req', r.method(), r.url().slice(0,150)); });
page.on('requestfailed', r => console.log('failed', r.url().slice(0,150)));
const t0 = Date.now();
await page.goto(base + route);
await page.waitForTimeout(Number(process.argv[4] ?? 8000));
console.log('t', Date.now()-t0);
await page.screenshot({ path: '/tmp/sx/probe.png' });
console.log((await page.evaluate(() => document.body.innerText)).slice(0, 1500));
await ctx.close(); fs.rmSync(udd, { recursive: true, force: true });
