// Same-origin proxy from /dicom-web/* to a DICOMweb server, so the browser needs no CORS (Orthanc sends none).
import http from 'node:http';
import https from 'node:https';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer',
  'transfer-encoding', 'upgrade']);

/** Parses and checks a PACS URL (its DICOMweb root, e.g. http://127.0.0.1:8043/dicom-web). */
export function parsePacsUrl(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`not a URL: ${JSON.stringify(text)} (expected e.g. http://127.0.0.1:8043/dicom-web)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`PACS URL must be http(s): ${text}`);
  url.pathname = url.pathname.replace(/\/+$/, '');
  return url;
}

/**
 * `includefield=a,b` as repeated `includefield=a&includefield=b`: both are standard (PS3.18), but Orthanc 1.10's
 * DICOMweb plugin reads only the repeated form and OHIF sends the comma form (study descriptions went missing).
 */
export function splitIncludeFields(query) {
  if (!/includefield=/i.test(query)) return query;
  const params = new URLSearchParams(query);
  const out = new URLSearchParams();
  for (const [k, v] of params) {
    if (k.toLowerCase() === 'includefield') v.split(',').filter(Boolean).forEach((f) => out.append(k, f));
    else out.append(k, v);
  }
  return out.toString();
}

/** Forwards one request; `rest` is the path after /dicom-web (with query). Answers 502 when the PACS is down. */
export function proxyRequest(req, res, pacsUrl, rest) {
  const target = new URL(pacsUrl.href);
  const [pathPart, query = ''] = rest.split(/\?(.*)/s);
  target.pathname = `${pacsUrl.pathname}${pathPart}`;
  target.search = query ? `?${splitIncludeFields(query)}` : '';
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
  // Keep the viewer's Host: Orthanc builds BulkDataURIs from it, so they point back through this proxy.
  const client = target.protocol === 'https:' ? https : http;
  const upstream = client.request(target, { method: req.method, headers, timeout: 30000 }, (up) => {
    const out = {};
    for (const [k, v] of Object.entries(up.headers)) if (!HOP_BY_HOP.has(k)) out[k] = v;
    res.writeHead(up.statusCode ?? 502, out);
    up.pipe(res);
  });
  upstream.on('timeout', () => upstream.destroy(new Error('timed out after 30 s')));
  upstream.on('error', (err) => {
    if (!res.headersSent) {
      res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`PACS unreachable at ${pacsUrl.origin}${pacsUrl.pathname}: ${err.message}\n`);
    } else {
      res.destroy(err);
    }
  });
  req.pipe(upstream);
}
