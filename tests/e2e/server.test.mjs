// The viewer server on its own (no browser): generated config and manifest, proxy failures, bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, repo, sample, startViewer } from './harness.mjs';

// fetch() may not set Host; node:http can, as a browser on another host name would.
function getJson(url, host, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    http.get(url, { headers: { host, ...extraHeaders } }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { try { resolve(JSON.parse(body)); } catch (err) { reject(err); } });
    }).on('error', reject);
  });
}

let viewer;
let deadPacs;
before(async () => {
  deadPacs = `http://127.0.0.1:${await freePort()}/dicom-web`; // nothing listens there
  viewer = await startViewer({ port: await freePort(), args: ['--pacs', deadPacs] });
});
after(async () => { await viewer?.stop(); });

test('app-config.js names our two bundles and both data sources for the requesting origin', async () => {
  const text = await (await fetch(`${viewer.url}/app-config.js`)).text();
  const window = {};
  new Function('window', text)(window);
  const c = window.config;
  assert.deepEqual(c.extensions, [`${viewer.url}/plugins/ssclnet-extension.js`]);
  assert.deepEqual(c.modes, [`${viewer.url}/plugins/ssclnet-mode.js`]);
  assert.equal(c.defaultDataSourceName, 'orthanc'); // --pacs makes the PACS the default
  assert.deepEqual(c.dataSources.map((d) => d.sourceName), ['dicomjson', 'orthanc']);
  assert.equal(c.dataSources[1].configuration.wadoRoot, `${viewer.url}/dicom-web`);
  for (const bundle of c.extensions.concat(c.modes)) {
    const res = await fetch(bundle);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /javascript/);
    assert.match(await res.text(), /export\s*\{/); // an ES module, importable by the host
  }
});

test('the sample manifest uses instance URLs of the origin the page was loaded from', async () => {
  for (const host of [new URL(viewer.url).host, `localhost:${new URL(viewer.url).port}`]) {
    const m = await getJson(`${viewer.url}/sample-study/manifest.json`, host);
    const urls = m.studies.flatMap((s) => s.series.flatMap((se) => se.instances.map((i) => i.url)));
    assert.equal(urls.length, sample.studies.reduce((n, s) => n + s.NumInstances, 0));
    for (const u of urls) assert.ok(u.startsWith(`dicomweb:http://${host}/sample-study/`), u);
  }
  const behindTls = await getJson(`${viewer.url}/sample-study/manifest.json`, 'viewer.example.org', { 'x-forwarded-proto': 'https' });
  assert.ok(behindTls.studies[0].series[0].instances[0].url.startsWith('dicomweb:https://viewer.example.org/sample-study/'));
  const first = (await (await fetch(`${viewer.url}/sample-study/manifest.json`)).json()).studies[0].series[0].instances[0].url;
  const dcm = await fetch(first.slice('dicomweb:'.length));
  assert.equal(dcm.status, 200);
  const bytes = new Uint8Array(await dcm.arrayBuffer());
  assert.equal(new TextDecoder().decode(bytes.slice(128, 132)), 'DICM');
});

test('viewer routes fall back to index.html; missing files and escapes are 404', async () => {
  const route = await fetch(`${viewer.url}/ssclnet/dicomjson?StudyInstanceUIDs=1.2.3`);
  assert.equal(route.status, 200);
  assert.match(await route.text(), /<html/);
  assert.equal((await fetch(`${viewer.url}/no-such-file.js`)).status, 404);
  assert.equal((await fetch(`${viewer.url}/plugins/..%2Fpackage.json`)).status, 404);
  assert.equal((await fetch(`${viewer.url}/models/..%2F..%2Fpackage.json`)).status, 404);
});

test('PACS down: the proxy answers 502 with a message and the server keeps serving', async () => {
  const res = await fetch(`${viewer.url}/dicom-web/studies`);
  assert.equal(res.status, 502);
  assert.match(await res.text(), /PACS unreachable at http:\/\/127\.0\.0\.1:\d+\/dicom-web/);
  assert.equal((await fetch(`${viewer.url}/`)).status, 200);
  assert.ok(viewer.alive());
});

test('a port in use: a clear message and a non-zero exit', async () => {
  const blocker = net.createServer();
  await new Promise((r) => blocker.listen(0, '127.0.0.1', r));
  const { port } = blocker.address();
  try {
    const r = spawnSync(process.execPath, [path.join(repo, 'scripts', 'serve.mjs'), '--port', String(port)], { encoding: 'utf8', timeout: 15000 });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    blocker.close();
  }
});

test('a malformed PACS URL is refused at start', () => {
  const r = spawnSync(process.execPath, [path.join(repo, 'scripts', 'serve.mjs'), '--port', '0', '--pacs', 'ftp://x'], { encoding: 'utf8', timeout: 15000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /PACS URL must be http\(s\)/);
});

test('comma-separated includefield reaches the PACS as repeated parameters', async () => {
  const { splitIncludeFields } = await import('../../server/proxy.mjs');
  assert.equal(splitIncludeFields('limit=101&includefield=00081030%2C00080060'), 'limit=101&includefield=00081030&includefield=00080060');
  assert.equal(splitIncludeFields('StudyInstanceUID=1.2.3'), 'StudyInstanceUID=1.2.3');
});
