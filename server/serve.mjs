#!/usr/bin/env node
// Starts the SSCLNet demo viewer (OHIF 3.13 with our extension and mode). See docs/viewer.md.
//   node server/serve.mjs [--port 3000] [--host 127.0.0.1] [--pacs [URL]] [--models DIR]
//   --pacs without a URL uses $SSCLNET_PACS_URL or the project's Orthanc (pacs/orthanc.sh), and makes the
//   PACS the default data source; without --pacs the embedded sample studies are the default.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createViewerServer, listen } from './app.mjs';
import { parsePacsUrl } from './proxy.mjs';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_PACS_URL = 'http://127.0.0.1:8043/dicom-web';
const { ohifVersion } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')).config;

const USAGE = `usage: node server/serve.mjs [--port N] [--host H] [--pacs [URL]] [--models DIR] [--ohif-dir DIR]
                           [--public-host NAME[:PORT]]... [--pacs-timeout S] [--pacs-idle-timeout S] [--pacs-credentials]
Serves OHIF ${ohifVersion} with the SSCLNet extension and mode (npm start runs it; options after \`npm start --\`).
  --port N        port, 0 for any free one (default $SSCLNET_PORT or 3000)
  --host H        address to listen on (default 127.0.0.1)
  --pacs [URL]    make the PACS the default data source; URL is its DICOMweb root (default $SSCLNET_PACS_URL,
                  else the project's Orthanc, ${DEFAULT_PACS_URL}); without --pacs: the embedded sample studies
  --models DIR    model registry served at /models/ (default models/)
  --ohif-dir DIR  the OHIF dist (default .ohif/app-${ohifVersion}/dist, fetched by scripts/setup.sh --viewer)
  --public-host NAME[:PORT]
                  another name the viewer is reached under (reverse proxy, LAN DNS name; repeat or comma-separate;
                  default $SSCLNET_PUBLIC_HOSTS). The PACS proxy answers only requests whose Host/Origin is this
                  server: localhost/127.0.0.1 on its port, the address it listens on, or these names
  --pacs-timeout S       overall limit of one PACS request in seconds (default 120)
  --pacs-idle-timeout S  limit on PACS silence in seconds (default 30)
  --pacs-credentials     forward the browser's Cookie/Authorization headers to the PACS (default: stripped)
  -h, --help      this text`;

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
  ({ values } = parseArgs({
    args: rest,
    options: {
      port: { type: 'string', default: process.env.SSCLNET_PORT ?? '3000' },
      host: { type: 'string', default: '127.0.0.1' },
      models: { type: 'string', default: path.join(repo, 'models') },
      'ohif-dir': { type: 'string', default: path.join(repo, '.ohif', `app-${ohifVersion}`, 'dist') },
      help: { type: 'boolean', short: 'h' },
      'public-host': { type: 'string', multiple: true, default: [process.env.SSCLNET_PUBLIC_HOSTS ?? ''] },
      'pacs-timeout': { type: 'string', default: '120' },
      'pacs-idle-timeout': { type: 'string', default: '30' },
      'pacs-credentials': { type: 'boolean', default: false },
    },
  }));
} catch (err) {
  fail(`${err.message}\n${USAGE}`);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--port must be 0..65535, got ${values.port}`);

const seconds = (flag) => {
  const s = Number(values[flag]);
  if (!Number.isFinite(s) || s <= 0) fail(`--${flag} must be a positive number of seconds, got ${values[flag]}`);
  return s * 1000;
};
const proxy = {
  totalTimeoutMs: seconds('pacs-timeout'),
  idleTimeoutMs: seconds('pacs-idle-timeout'),
  forwardCredentials: values['pacs-credentials'],
};

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
    publicHosts: values['public-host'].flatMap((h) => h.split(',')),
    proxy,
    log: (line) => console.error(line),
  });
} catch (err) {
  fail(err.message);
}
try {
  const bound = await listen(server, { host: values.host, port });
  const shownHost = values.host === '0.0.0.0' || values.host === '::' ? 'localhost' : values.host;
  console.log(
    `SSCLNet viewer: http://${shownHost}:${bound}/  (data source: ${pacsFlag ? `PACS ${pacsUrl.href}` : 'embedded sample studies'}; PACS proxy /dicom-web -> ${pacsUrl.href})`,
  );
} catch (err) {
  fail(err.message);
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => server.close(() => process.exit(0)));
