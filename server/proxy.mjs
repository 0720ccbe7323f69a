// Same-origin proxy from /dicom-web/* to a DICOMweb server, so the browser needs no CORS (Orthanc sends none).
// It exposes DICOMweb only: the path is decoded and checked (no dot segments in any encoding, no backslashes,
// no double encoding), the upstream path stays under the configured DICOMweb root, only GET/HEAD (and POST to
// /studies, STOW-RS) pass, browser credentials are not forwarded, and slow upstreams hit a deadline.
// Host/Origin checks (DNS rebinding) are done by the caller (app.mjs, security.mjs) before proxyRequest.
import http from 'node:http';
import https from 'node:https';
import { DATA_CSP } from './security.mjs';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

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
    if (k.toLowerCase() === 'includefield')
      v.split(',')
        .filter(Boolean)
        .forEach((f) => out.append(k, f));
    else out.append(k, v);
  }
  return out.toString();
}

export const DEFAULT_TOTAL_TIMEOUT_MS = 120_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/** Request headers passed to the PACS (everything else, cookies and Authorization included, stays here). */
const FORWARD_HEADERS = new Set([
  'accept',
  'accept-encoding',
  'accept-language',
  'content-type',
  'content-length',
  'if-none-match',
  'if-modified-since',
  'if-match',
  'if-range',
  'range',
  'cache-control',
  'pragma',
  'user-agent',
  'x-forwarded-proto',
]);
const CREDENTIAL_HEADERS = ['cookie', 'authorization'];

// pchar of RFC 3986 (unreserved / sub-delims / ':' / '@'), the only characters a decoded segment may hold:
// DICOMweb paths are resource names and UIDs (digits and dots), frame lists (commas) and bulkdata keys.
const SEGMENT_RE = /^[A-Za-z0-9._~!$&'()*+,;=:@-]+$/;

export class ProxyError extends Error {
  constructor(status, message, headers = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/**
 * The upstream URL of `rest` (the request path after /dicom-web, with its query) for `method`, or a
 * ProxyError (400 bad path, 405 method). The path is percent-decoded once; a '%' left after that (double
 * encoding), a backslash (raw or encoded), a control character, an empty, '.' or '..' segment, or any
 * character outside RFC 3986 pchar is refused. The rebuilt path must lie under the PACS root.
 */
export function upstreamUrl(pacsUrl, rest, method) {
  const q = rest.indexOf('?');
  const rawPath = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  if (rawPath !== '' && !rawPath.startsWith('/')) throw new ProxyError(400, 'bad DICOMweb path');
  if (/\\|%5c/i.test(rawPath)) throw new ProxyError(400, 'bad DICOMweb path: backslash');
  let decoded;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    throw new ProxyError(400, 'bad DICOMweb path: malformed percent-encoding');
  }
  if (decoded.includes('%')) throw new ProxyError(400, 'bad DICOMweb path: double percent-encoding');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what this refuses
  if (/[\\\u0000-\u001f\u007f]/.test(decoded))
    throw new ProxyError(400, 'bad DICOMweb path: control character or backslash');
  const segments = decoded === '' || decoded === '/' ? [] : decoded.slice(1).split('/');
  for (const seg of segments) {
    if (seg === '.' || seg === '..') throw new ProxyError(400, 'bad DICOMweb path: dot segment');
    if (seg === '') throw new ProxyError(400, 'bad DICOMweb path: empty segment');
    if (!SEGMENT_RE.test(seg)) throw new ProxyError(400, 'bad DICOMweb path: unexpected character');
  }
  const stow = segments[0] === 'studies' && segments.length <= 2;
  if (method === 'POST' ? !stow : method !== 'GET' && method !== 'HEAD') {
    throw new ProxyError(405, 'method not allowed', { allow: stow ? 'GET, HEAD, POST' : 'GET, HEAD' });
  }
  const root = pacsUrl.pathname.replace(/\/+$/, '');
  const target = new URL(pacsUrl.href);
  target.pathname = [root, ...segments].join('/') || '/';
  target.search = query ? `?${splitIncludeFields(query)}` : '';
  // Belt and braces: whatever URL normalisation did, the result is still the PACS, under its DICOMweb root.
  if (
    target.origin !== pacsUrl.origin ||
    !(target.pathname === (root || '/') || target.pathname.startsWith(`${root}/`))
  ) {
    throw new ProxyError(400, 'bad DICOMweb path: outside the DICOMweb root');
  }
  return target;
}

function sendError(res, status, message, headers = {}) {
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-cache',
    'content-security-policy': DATA_CSP,
  });
  res.end(`${message}\n`);
}

/**
 * Forwards one request; `rest` is the path after /dicom-web (with query).
 * Answers 400 (bad path), 405 (method), 502 (PACS unreachable or broken answer), 504 (PACS too slow: no byte
 * for `idleTimeoutMs`, or the whole exchange past `totalTimeoutMs`; once the answer has started, the
 * connection is cut instead). `forwardCredentials` passes the browser's Cookie/Authorization to the PACS.
 */
export function proxyRequest(req, res, pacsUrl, rest, options = {}) {
  const totalMs = options.totalTimeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  let target;
  try {
    target = upstreamUrl(pacsUrl, rest, req.method);
  } catch (err) {
    if (!(err instanceof ProxyError)) throw err;
    req.resume();
    return sendError(res, err.status, err.message, err.headers);
  }
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (FORWARD_HEADERS.has(k)) headers[k] = v;
  if (options.forwardCredentials)
    for (const k of CREDENTIAL_HEADERS) if (req.headers[k] !== undefined) headers[k] = req.headers[k];
  // Keep the viewer's Host (already checked to be this server): Orthanc builds BulkDataURIs from it, so they
  // point back through this proxy.
  if (req.headers.host) headers.host = req.headers.host;

  let done = false;
  const finish = () => {
    done = true;
    clearTimeout(deadline);
  };
  const fail = (status, message) => {
    if (done) return;
    finish();
    upstream.destroy();
    if (!res.headersSent) sendError(res, status, message);
    else res.destroy(new Error(message));
  };
  const client = target.protocol === 'https:' ? https : http;
  const upstream = client.request(target, { method: req.method, headers }, (up) => {
    const out = {};
    for (const [k, v] of Object.entries(up.headers)) {
      if (HOP_BY_HOP.has(k) || (k === 'set-cookie' && !options.forwardCredentials)) continue;
      out[k] = v;
    }
    out['content-security-policy'] = DATA_CSP; // PACS answers are data: even an HTML error page runs nothing
    res.writeHead(up.statusCode ?? 502, out);
    up.on('end', finish);
    up.on('error', (err) => fail(502, `PACS answer broken: ${err.message}`));
    up.pipe(res);
  });
  const deadline = setTimeout(() => fail(504, `PACS did not answer within ${totalMs / 1000} s`), totalMs);
  upstream.setTimeout(idleMs, () => fail(504, `PACS sent nothing for ${idleMs / 1000} s`));
  upstream.on('error', (err) => fail(502, `PACS unreachable at ${pacsUrl.origin}${pacsUrl.pathname}: ${err.message}`));
  // The browser went away (or the answer is complete): stop talking to the PACS.
  res.on('close', () => {
    if (!done) {
      finish();
      upstream.destroy();
    }
  });
  req.pipe(upstream);
}
