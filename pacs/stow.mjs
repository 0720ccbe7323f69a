#!/usr/bin/env node
// Stores DICOM files into a DICOMweb server with STOW-RS (one multipart/related request per series folder).
//   node pacs/stow.mjs <DICOMweb root URL> <folder with .dcm files, searched recursively>
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';

export function multipartBody(files, boundary) {
  const parts = [];
  for (const file of files) {
    parts.push(
      Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`),
      fs.readFileSync(file),
      Buffer.from('\r\n'),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

function dicomFilesByFolder(root) {
  const groups = new Map();
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.dcm')) groups.set(dir, [...(groups.get(dir) ?? []), p]);
    }
  };
  walk(root);
  return groups;
}

const USAGE = `usage: node pacs/stow.mjs <DICOMweb root URL> <folder>
Stores every .dcm file under <folder> (searched recursively) into the DICOMweb server with STOW-RS, one request
per folder of files. Example: node pacs/stow.mjs http://127.0.0.1:8043/dicom-web demo/sample-study`;

async function main() {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const [root, folder] = args;
  if (!root || !folder || args.length > 2) {
    console.error(USAGE);
    process.exit(2);
  }
  const groups = dicomFilesByFolder(folder);
  if (!groups.size) throw new Error(`no .dcm files under ${folder}`);
  let stored = 0;
  for (const [dir, files] of groups) {
    const boundary = `ssclnet-${randomUUID()}`;
    const res = await fetch(`${root.replace(/\/$/, '')}/studies`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        accept: 'application/dicom+json',
      },
      body: multipartBody(files.sort(), boundary),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`STOW-RS of ${dir} failed: HTTP ${res.status} ${text.slice(0, 300)}`);
    // A 200 may still list failed instances (FailedSOPSequence, 00081198).
    const body = text ? JSON.parse(text) : {};
    const failed = body['00081198']?.Value?.length ?? 0;
    if (failed) throw new Error(`STOW-RS of ${dir}: ${failed} instances refused`);
    stored += files.length;
  }
  console.log(`stow: stored ${stored} instances from ${groups.size} series into ${root}`);
}

main().catch((err) => {
  console.error(`stow: ${err.message}`);
  process.exit(1);
});
