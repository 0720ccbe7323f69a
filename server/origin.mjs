// The page's origin as the browser sees it, from the request's Host header. dicomjson instance URLs and the
// app config must match it exactly (localhost vs 127.0.0.1 is a CORS failure), so they are built per request.
const HOST_RE = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/;

/**
 * Returns e.g. "http://127.0.0.1:3000", or null when the Host header is missing or malformed. Behind a
 * TLS-terminating reverse proxy, X-Forwarded-Proto: https makes it https.
 */
export function originFromRequest(req) {
  const host = req.headers.host;
  if (typeof host !== 'string' || !HOST_RE.test(host)) return null;
  const scheme =
    String(req.headers['x-forwarded-proto'] ?? '')
      .split(',')[0]
      .trim() === 'https'
      ? 'https'
      : 'http';
  return `${scheme}://${host}`;
}
