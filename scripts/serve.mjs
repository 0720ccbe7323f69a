#!/usr/bin/env node
// Starts the SSCLNet demo viewer (OHIF 3.13 with our extension and mode). See docs/viewer.md.
//   node scripts/serve.mjs [--port 3000] [--host 127.0.0.1] [--pacs [URL]] [--models DIR]
//   --pacs without a URL uses $SSCLNET_PACS_URL or the project's Orthanc (scripts/orthanc.sh), and makes the
//   PACS the default data source; without --pacs the embedded sample studies are the default.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createViewerServer, listen } from '../server/app.mjs';
import { parsePacsUrl } from '../server/proxy.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PACS_URL = 'http://127.0.0.1:8043/dicom-web';

function fail(message) {
  console.error(`serve: ${message}`);
  process.exit(2);
}

// `--pacs` may stand alone or take a URL; parseArgs cannot express an optional value, so split it here.
const argv = process.argv.slice(2);
let pacsFlag = false;
let pacsArg = null;
const rest = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i];
  if (a === '--pacs') {
    pacsFlag = true;
    if (argv[i + 1] && !argv[i + 1].startsWith('--')) pacsArg = argv[++i];
  } else if (a.startsWith('--pacs=')) {
    pacsFlag = true;
    pacsArg = a.slice('--pacs='.length);
  } else rest.push(a);
}
let values;
try {
  ({ values } = parseArgs({ args: rest, options: {
    port: { type: 'string', default: process.env.SSCLNET_PORT ?? '3000' },
    host: { type: 'string', default: '127.0.0.1' },
    models: { type: 'string', default: path.join(repo, 'models') },
    'ohif-dir': { type: 'string', default: path.join(repo, '.ohif', 'app-3.13.2', 'dist') },
  } }));
} catch (err) {
  fail(`${err.message}\nusage: node scripts/serve.mjs [--port N] [--host H] [--pacs [URL]] [--models DIR]`);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got ${values.port}`);

// The proxy always exists (the orthanc data source is always listed); --pacs makes it the default.
let pacsUrl;
try {
  pacsUrl = parsePacsUrl(pacsArg ?? process.env.SSCLNET_PACS_URL ?? DEFAULT_PACS_URL);
} catch (err) {
  fail(err.message);
}

let server;
try {
  server = createViewerServer({
    ohifDir: values['ohif-dir'],
    pluginDir: path.join(repo, 'dist'),
    sampleDir: path.join(repo, 'demo', 'sample-study'),
    modelsDir: path.resolve(values.models),
    pacsUrl,
    defaultDataSource: pacsFlag ? 'orthanc' : 'dicomjson',
    log: (line) => console.error(line),
  });
} catch (err) {
  fail(err.message);
}
try {
  const bound = await listen(server, { host: values.host, port });
  const shownHost = values.host === '0.0.0.0' || values.host === '::' ? 'localhost' : values.host;
  console.log(`SSCLNet viewer: http://${shownHost}:${bound}/  (data source: ${pacsFlag ? `PACS ${pacsUrl.href}` : 'embedded sample studies'}; PACS proxy /dicom-web -> ${pacsUrl.href})`);
} catch (err) {
  fail(err.message);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
