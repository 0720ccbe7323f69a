import { chromium } from 'playwright-core';
import fs from 'node:fs';
const udd = fs.mkdtempSync('/tmp/sx/udd-');
const ctx = await chromium.launchPersistentContext(udd, { executablePath: '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox','--disable-background-networking','--disable-component-update','--disable-sync','--no-first-run','--disable-quic'], viewport: { width: 1400, height: 900 } });
const page = ctx.pages()[0];
await page.route('**/sample-study/manifest.json', async (route) => {
  const res = await route.fetch(); const m = await res.json();
  m.studies[1].Modalities = 'CT';
  await route.fulfill({ response: res, json: m });
});
await page.goto('http://127.0.0.1:3456/?datasources=dicomjson');
await page.getByText('Volunteer^Forrest').first().click();
await page.waitForTimeout(800);
const b = page.getByRole('button', { name: /Brain MRI classi/ });
console.log('disabled', await b.isDisabled(), await b.getAttribute('class'));
await b.hover({ force: true }); await page.waitForTimeout(800);
await page.screenshot({ path: '/tmp/sx/nonmr.png' });
console.log(await page.evaluate(() => document.body.innerText.slice(0, 800)));
await ctx.close();
