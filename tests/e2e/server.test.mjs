// The viewer server on its own (no browser): generated config and manifest, proxy failures, bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, repo, sample, startViewer } from './harness.mjs';

// fetch() may not set Host; node:http can, as a browser on another host name would.
function getJson(url, host, extraHeaders = {}) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { host, ...extraHeaders } }, (res) => {
        let body = '';
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => {
          try {
            resolve(JSON.parse(body));
          } catch (err) {
            reject(err);
          }
        });
      })
      .on('error', reject);
  });
}

let viewer;
let deadPacs;
before(async () => {
  deadPacs = `http://127.0.0.1:${await freePort()}/dicom-web`; // nothing listens there
  viewer = await startViewer({ port: await freePort(), args: ['--pacs', deadPacs] });
});
after(async () => {
  await viewer?.stop();
});

test('app-config.js names our two bundles and both data sources for the requesting origin', async () => {
  const text = await (await fetch(`${viewer.url}/app-config.js`)).text();
  const window = {};
  new Function('window', text)(window);
  const c = window.config;
  assert.deepEqual(c.extensions, [`${viewer.url}/plugins/ssclnet-extension.js`]);
  assert.deepEqual(c.modes, [`${viewer.url}/plugins/ssclnet-mode.js`]);
  assert.equal(c.defaultDataSourceName, 'orthanc'); // --pacs makes the PACS the default
  assert.deepEqual(
    c.dataSources.map((d) => d.sourceName),
    ['dicomjson', 'orthanc'],
  );
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
    assert.equal(
      urls.length,
      sample.studies.reduce((n, s) => n + s.NumInstances, 0),
    );
    for (const u of urls) assert.ok(u.startsWith(`dicomweb:http://${host}/sample-study/`), u);
  }
  const behindTls = await getJson(`${viewer.url}/sample-study/manifest.json`, 'viewer.example.org', {
    'x-forwarded-proto': 'https',
  });
  assert.ok(
    behindTls.studies[0].series[0].instances[0].url.startsWith('dicomweb:https://viewer.example.org/sample-study/'),
  );
  const first = (await (await fetch(`${viewer.url}/sample-study/manifest.json`)).json()).studies[0].series[0]
    .instances[0].url;
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
    const r = spawnSync(process.execPath, [path.join(repo, 'server', 'serve.mjs'), '--port', String(port)], {
      encoding: 'utf8',
      timeout: 15000,
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
  } finally {
    blocker.close();
  }
});

test('a malformed PACS URL is refused at start', () => {
  const r = spawnSync(process.execPath, [path.join(repo, 'server', 'serve.mjs'), '--port', '0', '--pacs', 'ftp://x'], {
    encoding: 'utf8',
    timeout: 15000,
  });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /PACS URL must be http\(s\)/);
});

test('comma-separated includefield reaches the PACS as repeated parameters', async () => {
  const { splitIncludeFields } = await import('../../server/proxy.mjs');
  assert.equal(
    splitIncludeFields('limit=101&includefield=00081030%2C00080060'),
    'limit=101&includefield=00081030&includefield=00080060',
  );
  assert.equal(splitIncludeFields('StudyInstanceUID=1.2.3'), 'StudyInstanceUID=1.2.3');
});

// ---------------------------------------------------------------------------------------------------------------
// Hardening (issue 17 items 1-3): the /dicom-web proxy against a fake upstream, security headers, the registry
// mount. These run the server in this process on temporary folders (no OHIF dist, no Orthanc needed).

const { createViewerServer, listen } = await import('../../server/app.mjs');
const { parsePacsUrl } = await import('../../server/proxy.mjs');

function tmpDir(prefix) {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

const INLINE_SCRIPT = 'window.PUBLIC_URL="/"';

/** A viewer server in this process on fake OHIF/plugin folders; resolves to {url, port, close}. */
async function inProcessViewer({ pacsUrl, proxy, publicHosts, modelsDir } = {}) {
  const ohifDir = tmpDir('h3-ohif-');
  fs.writeFileSync(
    path.join(ohifDir, 'index.html'),
    `<!doctype html><html><head><script>${INLINE_SCRIPT}</script></head><body></body></html>`,
  );
  const pluginDir = tmpDir('h3-plugins-');
  for (const b of ['ssclnet-extension.js', 'ssclnet-mode.js'])
    fs.writeFileSync(path.join(pluginDir, b), 'export {};\n');
  const server = createViewerServer({
    ohifDir,
    pluginDir,
    sampleDir: path.join(repo, 'demo', 'sample-study'),
    modelsDir: modelsDir ?? tmpDir('h3-models-'),
    pacsUrl: pacsUrl ? parsePacsUrl(pacsUrl) : null,
    defaultDataSource: 'dicomjson',
    publicHosts,
    proxy,
  });
  const port = await listen(server, { host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

/** A fake DICOMweb upstream that records every request it receives. */
async function fakeUpstream() {
  const requests = [];
  const timers = new Set();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url.startsWith('/dicom-web/trickle')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        const t = setInterval(() => res.write('x'), 150);
        timers.add(t);
        res.on('close', () => clearInterval(t));
        return;
      }
      if (req.url.startsWith('/dicom-web/silent')) return; // never answers
      res.writeHead(200, { 'content-type': 'application/dicom+json', 'set-cookie': 'pacs=secret; Path=/' });
      res.end(JSON.stringify({ method: req.method, url: req.url }));
    });
  });
  const port = await listen(server, { host: '127.0.0.1', port: 0 });
  return {
    url: `http://127.0.0.1:${port}/dicom-web`,
    requests,
    close: () =>
      new Promise((r) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections?.();
        server.close(r);
      }),
  };
}

/** A raw request (path sent byte for byte, any method and headers); resolves to {status, headers, body}. */
function raw(base, method, rawPath, headers = {}, body = null) {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: rawPath, headers: { host: u.host, ...headers } },
      (res) => {
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

test('proxy: dot segments (any encoding), backslashes and escapes never reach the PACS', async () => {
  const up = await fakeUpstream();
  const v = await inProcessViewer({ pacsUrl: up.url });
  try {
    const attempts = [
      ['DELETE', '/dicom-web/../patients/ID'],
      ['GET', '/dicom-web/../patients/ID'],
      ['POST', '/dicom-web/%2E%2e/tools/shutdown'],
      ['POST', '/dicom-web/..\\tools\\execute-script'],
      ['GET', '/dicom-web/.%2e/patients'],
      ['GET', '/dicom-web/%2e%2E%2fpatients'],
      ['GET', '/dicom-web/studies/%252e%252e/%252e%252e/patients'],
      ['GET', '/dicom-web/studies/%25252e%25252e/patients'],
      ['GET', '/dicom-web/studies/..%5c..%5cpatients'],
      ['GET', '/dicom-web/studies/..%5C..%5Cpatients'],
      ['GET', '/dicom-web/studies%2f..%2f..%2fpatients'],
      ['GET', '/dicom-web/%c0%ae%c0%ae/patients'],
      ['GET', '/dicom-web/./studies'],
      ['GET', '/dicom-web/studies/%2e'],
      ['GET', '/dicom-web/studies/1.2/..'],
      ['GET', '/dicom-web//patients'],
      ['GET', '/dicom-web/studies/%00'],
      ['GET', '/dicom-web/studies/%0d%0aX:1'],
    ];
    for (const [method, p] of attempts) {
      const r = await raw(v.url, method, p);
      assert.ok(r.status === 400 || r.status === 405, `${method} ${p} -> ${r.status}`);
      assert.ok(r.body.length < 200, 'short body');
    }
    assert.deepEqual(up.requests, [], 'nothing reached the PACS');
    // Ordinary DICOMweb paths do pass, under the root.
    const ok = await raw(
      v.url,
      'GET',
      '/dicom-web/studies/1.2.840.1/series/1.3/instances/1.4/frames/1,2?includefield=00081030%2C00080060',
    );
    assert.equal(ok.status, 200);
    assert.equal(
      up.requests.at(-1).url,
      '/dicom-web/studies/1.2.840.1/series/1.3/instances/1.4/frames/1,2?includefield=00081030&includefield=00080060',
    );
    for (const r of up.requests)
      assert.ok(r.url === '/dicom-web' || r.url.startsWith('/dicom-web/') || r.url.startsWith('/dicom-web?'), r.url);
  } finally {
    await v.close();
    await up.close();
  }
});

test('proxy: only GET, HEAD and POST to /studies (STOW-RS) are forwarded', async () => {
  const up = await fakeUpstream();
  const v = await inProcessViewer({ pacsUrl: up.url });
  try {
    for (const [method, p] of [
      ['DELETE', '/dicom-web/studies/1.2'],
      ['PUT', '/dicom-web/studies/1.2'],
      ['PATCH', '/dicom-web/studies'],
      ['OPTIONS', '/dicom-web/studies'],
      ['POST', '/dicom-web/studies/1.2/series'],
      ['POST', '/dicom-web/tools/execute-script'],
      ['POST', '/dicom-web'],
      ['TRACE', '/dicom-web/studies'],
    ]) {
      // (Node's client sends no framing for bodies of DELETE/OPTIONS/TRACE: only POST/PUT/PATCH carry one here.)
      const r = await raw(v.url, method, p, {}, ['POST', 'PUT', 'PATCH'].includes(method) ? 'x' : null);
      assert.equal(r.status, 405, `${method} ${p}`);
      assert.match(r.headers.allow ?? '', /GET, HEAD/);
    }
    assert.deepEqual(up.requests, []);
    assert.equal((await raw(v.url, 'GET', '/dicom-web/studies')).status, 200);
    assert.equal((await raw(v.url, 'HEAD', '/dicom-web/studies')).status, 200);
    const stow = await raw(
      v.url,
      'POST',
      '/dicom-web/studies',
      { 'content-type': 'multipart/related; type="application/dicom"' },
      'dicom-bytes',
    );
    assert.equal(stow.status, 200);
    assert.equal(up.requests.at(-1).method, 'POST');
    assert.equal(up.requests.at(-1).body, 'dicom-bytes');
    assert.equal((await raw(v.url, 'POST', '/dicom-web/studies/1.2.3', {}, 'x')).status, 200);
  } finally {
    await v.close();
    await up.close();
  }
});

test('proxy: browser cookies and Authorization stay here unless configured; PACS cookies stay there', async () => {
  const up = await fakeUpstream();
  const v = await inProcessViewer({ pacsUrl: up.url });
  const creds = {
    cookie: 'session=viewer-secret',
    authorization: 'Basic dXNlcjpwYXNz',
    'proxy-authorization': 'Basic eA==',
  };
  try {
    const r = await raw(v.url, 'GET', '/dicom-web/studies', creds);
    assert.equal(r.status, 200);
    const got = up.requests.at(-1).headers;
    for (const k of Object.keys(creds)) assert.equal(got[k], undefined, k);
    assert.equal(r.headers['set-cookie'], undefined);
  } finally {
    await v.close();
  }
  const v2 = await inProcessViewer({ pacsUrl: up.url, proxy: { forwardCredentials: true } });
  try {
    await raw(v2.url, 'GET', '/dicom-web/studies', creds);
    const got = up.requests.at(-1).headers;
    assert.equal(got.cookie, creds.cookie);
    assert.equal(got.authorization, creds.authorization);
    assert.equal(got['proxy-authorization'], undefined); // hop-by-hop, never forwarded
  } finally {
    await v2.close();
    await up.close();
  }
});

test('proxy: Host and Origin must be this server (DNS rebinding is refused)', async () => {
  const up = await fakeUpstream();
  const v = await inProcessViewer({ pacsUrl: up.url, publicHosts: ['viewer.example.org'] });
  try {
    const own = [`127.0.0.1:${v.port}`, `localhost:${v.port}`, 'viewer.example.org', 'viewer.example.org:8443'];
    for (const host of own) assert.equal((await raw(v.url, 'GET', '/dicom-web/studies', { host })).status, 200, host);
    assert.equal((await raw(v.url, 'GET', '/dicom-web/studies', { origin: v.url })).status, 200);
    assert.equal(
      (await raw(v.url, 'POST', '/dicom-web/studies', { origin: v.url, 'sec-fetch-site': 'same-origin' }, 'x')).status,
      200,
    );
    assert.equal((await raw(v.url, 'GET', '/dicom-web/studies', { origin: 'https://viewer.example.org' })).status, 200);
    const n = up.requests.length;
    for (const headers of [
      { host: `attacker.example:${v.port}` },
      { host: 'attacker.example' },
      { host: `127.0.0.1:${v.port + 1}` },
      { host: `localhost.attacker.example:${v.port}` },
      { host: `10.1.2.3:${v.port}` },
      { origin: 'http://attacker.example' },
      { origin: `http://attacker.example:${v.port}` },
      { origin: 'null' },
      { origin: `http://localhost:${v.port + 1}` },
      { 'sec-fetch-site': 'cross-site' },
    ]) {
      const r = await raw(v.url, 'POST', '/dicom-web/studies', headers, 'x');
      assert.equal(r.status, 403, JSON.stringify(headers));
      assert.ok(!r.body.includes('attacker'), 'the refusal does not echo the request');
      assert.equal((await raw(v.url, 'GET', '/dicom-web/studies', headers)).status, 403);
    }
    assert.equal(up.requests.length, n, 'nothing reached the PACS');
  } finally {
    await v.close();
    await up.close();
  }
});

test('proxy: a slow PACS hits the idle timeout and the overall deadline (clear 504s, or a cut stream)', async () => {
  const up = await fakeUpstream();
  // Sends the status line, then one header byte every 150 ms: never idle, never done.
  const headerTrickle = net.createServer((sock) => {
    sock.on('error', () => {});
    sock.write('HTTP/1.1 200 OK\r\n');
    const t = setInterval(() => sock.write('X'), 150);
    sock.on('close', () => clearInterval(t));
  });
  await new Promise((r) => headerTrickle.listen(0, '127.0.0.1', r));
  const proxy = { totalTimeoutMs: 1200, idleTimeoutMs: 500 };
  const v = await inProcessViewer({ pacsUrl: up.url, proxy });
  const v2 = await inProcessViewer({ pacsUrl: `http://127.0.0.1:${headerTrickle.address().port}/dicom-web`, proxy });
  try {
    let t0 = Date.now();
    const silent = await raw(v.url, 'GET', '/dicom-web/silent');
    assert.equal(silent.status, 504);
    assert.match(silent.body, /PACS sent nothing for 0\.5 s/);
    assert.ok(Date.now() - t0 < 1100, `idle timeout took ${Date.now() - t0} ms`);

    t0 = Date.now();
    const slowHeaders = await raw(v2.url, 'GET', '/dicom-web/studies');
    assert.equal(slowHeaders.status, 504);
    assert.match(slowHeaders.body, /PACS did not answer within 1\.2 s/);
    assert.ok(Date.now() - t0 >= 1100 && Date.now() - t0 < 3000, `deadline after ${Date.now() - t0} ms`);

    // A body trickling forever: the answer has started, so the connection is cut at the deadline.
    t0 = Date.now();
    const outcome = await raw(v.url, 'GET', '/dicom-web/trickle').then(
      () => 'ended',
      (err) => `error ${err.code ?? err.message}`,
    );
    const ms = Date.now() - t0;
    assert.ok(ms >= 1100 && ms < 3000, `trickling answer cut after ${ms} ms (${outcome})`);
    assert.notEqual(outcome, 'ended');
  } finally {
    await v.close();
    await v2.close();
    await up.close();
    headerTrickle.close();
  }
});

test('security headers on every response; 404s do not echo the path; /models/ serves data files only', async () => {
  const up = await fakeUpstream();
  const models = tmpDir('h3-models-');
  fs.writeFileSync(path.join(models, 'models.json'), '{"latest": null, "versions": []}\n');
  fs.writeFileSync(path.join(models, 'evil.html'), '<script>alert(document.domain)</script>');
  fs.mkdirSync(path.join(models, 'v1'));
  fs.writeFileSync(
    path.join(models, 'v1', 'evil.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
  );
  fs.writeFileSync(path.join(models, 'v1', 'group1-shard1of1.bin'), Buffer.alloc(8));
  const v = await inProcessViewer({ pacsUrl: up.url, modelsDir: models });
  const inlineHash = `'sha256-${crypto.createHash('sha256').update(INLINE_SCRIPT).digest('base64')}'`;
  try {
    const probes = [
      ['GET', '/', 200],
      ['GET', '/ssclnet/dicomjson', 200],
      ['GET', '/app-config.js', 200],
      ['GET', '/plugins/ssclnet-mode.js', 200],
      ['GET', '/sample-study/manifest.json', 200],
      ['GET', '/models/models.json', 200],
      ['GET', '/models/v1/group1-shard1of1.bin', 200],
      ['GET', '/models/evil.html', 404],
      ['GET', '/models/v1/evil.svg', 404],
      ['GET', '/no-such-<script>alert(1)</script>.js', 404],
      ['GET', '/dicom-web/studies', 200],
      ['GET', '/dicom-web/../x', 400],
      ['DELETE', '/dicom-web/studies', 405],
      ['POST', '/', 405],
      ['GET', '/dicom-web/studies', 403, { host: 'attacker.example' }],
    ];
    for (const [method, p, status, headers] of probes) {
      const r = await raw(v.url, method, p, headers);
      const what = `${method} ${p}`;
      assert.equal(r.status, status, what);
      const csp = r.headers['content-security-policy'] ?? '';
      assert.match(csp, /frame-ancestors 'none'/, what);
      assert.ok(!/script-src[^;]*(\*|https?:)/.test(csp), `${what}: no foreign script origins`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', what);
      assert.equal(r.headers['referrer-policy'], 'no-referrer', what);
      assert.equal(r.headers['x-frame-options'], 'DENY', what);
      // Cross-origin isolation (issue 16) on every response, the proxied PACS answers included.
      assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin', what);
      assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp', what);
      assert.equal(r.headers['cross-origin-resource-policy'], 'same-origin', what);
      if (status === 404) {
        assert.equal(r.body, 'not found\n', what);
        assert.ok(!/text\/html/.test(r.headers['content-type']), what);
      }
      if (p.startsWith('/models/') || p.startsWith('/dicom-web/'))
        assert.match(csp, /sandbox/, `${what}: data, never a page`);
    }
    const page = await raw(v.url, 'GET', '/');
    assert.ok(
      page.headers['content-security-policy'].includes(inlineHash),
      'the dist inline script is allowed by its hash',
    );
    assert.match(page.headers['content-security-policy'], /object-src 'none'/);
    assert.ok(
      !/'unsafe-inline'/.test(/script-src[^;]*/.exec(page.headers['content-security-policy'])[0]),
      'no inline scripts beyond the hashed ones',
    );
  } finally {
    await v.close();
    await up.close();
  }
});
