// Security headers for every response, and the Host/Origin check that keeps DNS rebinding away from the PACS.
//
// The header list is one array of [name, value] pairs (SECURITY_HEADERS) plus the Content-Security-Policy
// built from a directive map (cspDirectives): add a header (e.g. Cross-Origin-Opener-Policy /
// Cross-Origin-Embedder-Policy for cross-origin isolation) by adding one entry; nothing else needs to change.
import crypto from 'node:crypto';
import net from 'node:net';

/**
 * The CSP directives OHIF 3.13's dist and our bundles need, as measured on the viewer end-to-end tests:
 * - script-src: our origin, plus the SHA-256 of each inline <script> of OHIF's index.html (computed at start,
 *   so an upgraded dist keeps working), plus 'unsafe-eval': the Emscripten/embind codecs OHIF ships (and the
 *   @cornerstonejs/codec-* decoders) build functions with `new Function`, and WebAssembly needs
 *   'wasm-unsafe-eval' (implied by 'unsafe-eval'). No other origin may supply scripts; no inline event handlers.
 * - style-src 'unsafe-inline': React style attributes and libraries that inject <style> elements.
 * - worker-src blob:: cornerstone and the codecs start workers from blob: URLs as well as from our files, and
 *   tfjs-wasm's threaded build starts its pthread workers from blob: URLs (cross-origin isolated pages only).
 * - img/font/media/connect data: and blob:: thumbnails, cine, fonts and fetches of object URLs.
 * - frame-ancestors 'none' (with X-Frame-Options DENY for old browsers): nobody may frame the viewer.
 */
export function cspDirectives(inlineScriptHashes = []) {
  return {
    'default-src': ["'self'"],
    'script-src': ["'self'", ...inlineScriptHashes.map((h) => `'${h}'`), "'unsafe-eval'", "'wasm-unsafe-eval'"],
    'style-src': ["'self'", "'unsafe-inline'"],
    'img-src': ["'self'", 'data:', 'blob:'],
    'font-src': ["'self'", 'data:'],
    'media-src': ["'self'", 'data:', 'blob:'],
    'connect-src': ["'self'", 'data:', 'blob:'],
    'worker-src': ["'self'", 'blob:'],
    'manifest-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
}

/**
 * The CSP of the inference worker's script (dist/ssclnet-inference.js): the page's, plus blob: in script-src. A
 * worker's policy comes with its own script response, and the workers it starts from blob: URLs inherit it:
 * tfjs-wasm's threaded build starts its pthread workers that way and they importScripts() a blob: copy of the
 * wasm glue. Only this worker (no DOM, our code only) gets it; the page's script-src stays without blob:.
 */
export function workerCspDirectives(inlineScriptHashes = []) {
  const d = cspDirectives(inlineScriptHashes);
  return { ...d, 'script-src': [...d['script-src'], 'blob:'] };
}

export const INFERENCE_WORKER_SCRIPT = 'ssclnet-inference.js';

export function cspString(directives) {
  return Object.entries(directives)
    .map(([k, v]) => `${k} ${v.join(' ')}`)
    .join('; ');
}

/** Responses that are data, never a page (PACS answers, model files, 404s): nothing may run in them. */
export const DATA_CSP = "default-src 'none'; sandbox; frame-ancestors 'none'";

/** 'sha256-…' of every inline <script> in an HTML document (for script-src). */
export function inlineScriptHashes(html) {
  const out = [];
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    if (/\bsrc\s*=/i.test(m[1]) || !m[2]) continue;
    out.push(`sha256-${crypto.createHash('sha256').update(m[2], 'utf8').digest('base64')}`);
  }
  return out;
}

/** The headers set on every response, before any route runs ([name, value]; later entries may be added). */
export function securityHeaders({ inlineHashes = [] } = {}) {
  return [
    ['content-security-policy', cspString(cspDirectives(inlineHashes))],
    ['x-content-type-options', 'nosniff'],
    ['referrer-policy', 'no-referrer'],
    ['x-frame-options', 'DENY'],
    ['cross-origin-resource-policy', 'same-origin'],
    // Cross-origin isolation: with both, the page is `crossOriginIsolated`, so SharedArrayBuffer exists (tfjs-wasm
    // threads, Cornerstone's shared volume buffers for MPR). Everything the viewer loads is same-origin (our files,
    // the OHIF dist, the proxied PACS), and every response carries CORP same-origin, so require-corp breaks nothing;
    // workers (ours, Cornerstone's, tfjs-wasm's blob: pthread workers) inherit the isolation.
    ['cross-origin-opener-policy', 'same-origin'],
    ['cross-origin-embedder-policy', 'require-corp'],
    ['permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=(), usb=()'],
  ];
}

export function applySecurityHeaders(res, headers) {
  for (const [name, value] of headers) res.setHeader(name, value);
}

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

function splitHost(host) {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?$/.exec(host);
  if (!m) return null;
  return { name: m[1].toLowerCase().replace(/\.$/, ''), port: m[2] === undefined ? null : Number(m[2]) };
}

function bareIp(name) {
  const ip = name.startsWith('[') ? name.slice(1, -1) : name;
  return net.isIP(ip) ? ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1').toLowerCase() : null;
}

/**
 * Parses the configured public host names ("viewer.example.org" or "viewer.example.org:8443"): the names a
 * reverse proxy or a LAN DNS entry serves the viewer under. Throws on malformed entries.
 */
export function parsePublicHosts(list) {
  const items = (Array.isArray(list) ? list : String(list ?? '').split(','))
    .map((s) => String(s).trim())
    .filter(Boolean);
  return items.map((item) => {
    const h = splitHost(item);
    if (!h)
      throw new Error(
        `not a host name: ${JSON.stringify(item)} (expected e.g. viewer.example.org or viewer.example.org:8443)`,
      );
    return h;
  });
}

/**
 * Is `hostHeader` (Host, or the host of Origin) this server? Accepted: localhost / 127.0.0.1 / [::1] with the
 * port the connection came in on; the IP address the connection came in on (an IP literal can't be rebound);
 * and the configured public hosts (any port unless one is given). Any other name is refused: a page on an
 * attacker's domain whose DNS is rebound to this machine sends its own name, so it never reaches the PACS.
 */
export function isOwnHost(hostHeader, { localPort, localAddress, publicHosts = [] }) {
  if (typeof hostHeader !== 'string') return false;
  const h = splitHost(hostHeader);
  if (!h) return false;
  const port = h.port ?? 80;
  if (LOOPBACK_NAMES.has(h.name)) return port === localPort;
  const ip = bareIp(h.name);
  if (ip) return port === localPort && localAddress != null && ip === bareIp(String(localAddress));
  return publicHosts.some((p) => p.name === h.name && (p.port === null || p.port === port));
}

/**
 * The request's Host and, when present, Origin must both be this server. Returns null when fine, else the
 * reason (for a 403). `Origin: null` (sandboxed or opaque origins) is refused.
 */
export function checkHostAndOrigin(req, publicHosts = []) {
  const ctx = { localPort: req.socket?.localPort, localAddress: req.socket?.localAddress, publicHosts };
  if (!isOwnHost(req.headers.host, ctx)) return 'Host is not this server';
  // Browsers say where a request comes from (Fetch Metadata): a page of another site may not use the PACS,
  // not even through <img>/<script> loads that carry no Origin.
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none')
    return `request from another site (Sec-Fetch-Site: ${site})`;
  const origin = req.headers.origin;
  if (origin === undefined) return null;
  let url;
  try {
    url = new URL(String(origin));
  } catch {
    return 'Origin is not this server';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'Origin is not this server';
  const hostPort = `${url.hostname}:${url.port || (url.protocol === 'https:' ? 443 : 80)}`;
  if (!isOwnHost(hostPort, ctx)) return 'Origin is not this server';
  return null;
}
