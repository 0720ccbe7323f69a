// The viewer server: the OHIF dist at / (SPA fallback), a generated app-config.js, our bundles under /plugins/,
// the embedded studies under /sample-study/, model files under /models/, and /dicom-web proxied to a PACS.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { appConfigScript, buildAppConfig, DICOMWEB_PATH, PLUGIN_PATH, SAMPLE_PATH } from './appConfig.mjs';
import { loadManifestTemplate, manifestForOrigin } from './manifest.mjs';
import { originFromRequest } from './origin.mjs';
import { proxyRequest } from './proxy.mjs';
import {
  applySecurityHeaders,
  checkHostAndOrigin,
  cspString,
  DATA_CSP,
  INFERENCE_WORKER_SCRIPT,
  inlineScriptHashes,
  parsePublicHosts,
  securityHeaders,
  workerCspDirectives,
} from './security.mjs';
import { resolveInside, sendFile } from './staticFiles.mjs';

const NO_CACHE = 'no-cache';
const HASHED_ASSET = /\.[0-9a-f]{8,}\.(js|css)$|\.[0-9a-f]{16}\.wasm$/;

function modelCacheControl(file) {
  // models.json names the current model: always revalidate. Weight shards and cards change only with a new
  // model folder, so an hour of caching is safe; ETags make revalidation cheap.
  return path.basename(file) === 'models.json' || file.endsWith('.json') ? NO_CACHE : 'public, max-age=3600';
}

// The registry holds data only (models.json, cards, model.json, shards, parity and OOD files): nothing else is
// served from /models/, so a stray .html (or .svg, .js) dropped there can never run on the viewer's origin.
const MODEL_FILE = /\.(json|bin)$/;

function sendText(res, status, text, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': NO_CACHE });
  res.end(text);
}

/** A 404 that does not echo the path (no reflected content on the viewer's origin). */
function notFound(res) {
  res.setHeader('content-security-policy', DATA_CSP);
  sendText(res, 404, 'not found\n');
}

/**
 * @param {{ohifDir: string, pluginDir: string, sampleDir: string, modelsDir: string,
 *          pacsUrl: URL|null, defaultDataSource: 'dicomjson'|'orthanc', log?: (line: string) => void,
 *          publicHosts?: string[]|string, proxy?: {totalTimeoutMs?: number, idleTimeoutMs?: number,
 *          forwardCredentials?: boolean}}} opts
 * `publicHosts`: names (host or host:port) the viewer is reached under besides localhost/127.0.0.1/its own IP
 * (a reverse proxy, a LAN DNS name); the PACS proxy refuses any other Host or Origin (DNS rebinding).
 */
export function createViewerServer(opts) {
  const ohifDir = path.resolve(opts.ohifDir);
  const indexHtml = path.join(ohifDir, 'index.html');
  if (!fs.existsSync(indexHtml))
    throw new Error(`OHIF dist not found at ${ohifDir} (run: bash scripts/setup.sh --viewer)`);
  for (const bundle of ['ssclnet-extension.js', 'ssclnet-mode.js']) {
    if (!fs.existsSync(path.join(opts.pluginDir, bundle)))
      throw new Error(`${bundle} not found in ${opts.pluginDir} (run: npm run build)`);
  }
  const sampleDir = path.resolve(opts.sampleDir);
  const template = loadManifestTemplate(path.join(sampleDir, 'study.json'));
  const log = opts.log ?? (() => {});
  const publicHosts = parsePublicHosts(opts.publicHosts ?? []);
  const inlineHashes = inlineScriptHashes(fs.readFileSync(indexHtml, 'utf8'));
  const headers = securityHeaders({ inlineHashes });
  const workerCsp = cspString(workerCspDirectives(inlineHashes));

  const handle = (req, res) => {
    const url = req.url ?? '/';
    const pathname = url.split('?')[0];
    const origin = originFromRequest(req);
    if (!origin) return sendText(res, 400, 'bad Host header\n');

    if (pathname === DICOMWEB_PATH || pathname.startsWith(DICOMWEB_PATH + '/')) {
      res.setHeader('content-security-policy', DATA_CSP); // PACS answers and refusals are data, never a page
      const refused = checkHostAndOrigin(req, publicHosts);
      if (refused) {
        log(
          `refused ${req.method} ${pathname}: ${refused} (Host ${JSON.stringify(req.headers.host)}, Origin ${JSON.stringify(req.headers.origin)}); add the name with --public-host if it is yours`,
        );
        return sendText(res, 403, `forbidden: ${refused}\n`);
      }
      if (!opts.pacsUrl) return sendText(res, 503, 'no PACS configured (start the server with --pacs URL)\n');
      return proxyRequest(req, res, opts.pacsUrl, url.slice(DICOMWEB_PATH.length), opts.proxy ?? {});
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendText(res, 405, 'method not allowed\n');
    }

    if (pathname === '/app-config.js') {
      const config = buildAppConfig({ origin, defaultDataSource: opts.defaultDataSource });
      return sendText(res, 200, appConfigScript(config), 'text/javascript; charset=utf-8');
    }
    if (pathname === `${SAMPLE_PATH}/manifest.json`) {
      return sendText(
        res,
        200,
        JSON.stringify(manifestForOrigin(template, origin, SAMPLE_PATH)),
        'application/json; charset=utf-8',
      );
    }
    const mounts = [
      [PLUGIN_PATH + '/', opts.pluginDir, () => NO_CACHE],
      [SAMPLE_PATH + '/', sampleDir, () => 'public, max-age=3600'],
      ['/models/', opts.modelsDir, modelCacheControl, MODEL_FILE],
    ];
    for (const [prefix, root, cache, allowed] of mounts) {
      if (!pathname.startsWith(prefix)) continue;
      const file = resolveInside(path.resolve(root), pathname.slice(prefix.length));
      if (!file || (allowed && !allowed.test(file))) return notFound(res);
      if (allowed) res.setHeader('content-security-policy', DATA_CSP);
      // The inference worker's own policy: its tfjs-wasm pthread workers run from blob: URLs (see security.mjs).
      if (prefix === PLUGIN_PATH + '/' && path.basename(file) === INFERENCE_WORKER_SCRIPT)
        res.setHeader('content-security-policy', workerCsp);
      return sendFile(req, res, file, cache(file));
    }
    const file = pathname === '/' ? null : resolveInside(ohifDir, pathname.slice(1));
    if (file)
      return sendFile(req, res, file, HASHED_ASSET.test(file) ? 'public, max-age=31536000, immutable' : NO_CACHE);
    // SPA fallback: viewer routes (/ssclnet/dicomjson?...) are the app's; missing assets stay 404s.
    if (pathname === '/' || !path.posix.extname(pathname)) return sendFile(req, res, indexHtml, NO_CACHE);
    return notFound(res);
  };

  const server = http.createServer((req, res) => {
    applySecurityHeaders(res, headers);
    try {
      handle(req, res);
    } catch (err) {
      log(`error on ${req.method} ${req.url}: ${err.stack ?? err}`);
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    }
  });
  return server;
}

/** Listens; rejects with a clear message when the port is taken. Resolves to the bound port. */
export function listen(server, { host, port }) {
  return new Promise((resolve, reject) => {
    const onError = (err) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE')
        reject(
          new Error(`port ${port} on ${host} is already in use (another viewer running?); choose another with --port`),
        );
      else if (err.code === 'EACCES')
        reject(new Error(`no permission to listen on ${host}:${port}; use a port above 1024`));
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(server.address().port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
