#!/usr/bin/env node
// Checks, offline, that `npm ci` will accept package-lock.json on any machine (run by scripts/lint.sh):
//  - the lock's root and workspace entries declare the same dependencies as the package.json files;
//  - every dependency and optional dependency of every locked package resolves to a locked package, for every
//    platform. npm records another platform's optional packages (e.g. jest's @unrs/resolver-binding-*) only when
//    it resolves the tree from scratch; a lock missing one is refused by `npm ci` ("Missing: ... from lock file").
// Peer dependencies are not checked: the project's .npmrc sets legacy-peer-deps.
//   node scripts/check-lock.mjs [--help]
// Fix a failure with `npm install` (it fills in what is missing); if that is not enough, regenerate the lock from
// scratch: rm -rf node_modules package-lock.json && npm install
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log(
    'usage: node scripts/check-lock.mjs\nChecks that package-lock.json matches package.json and lists every ' +
      "platform's optional packages (what `npm ci` needs on a fresh machine). Exit 1 with the problems otherwise.",
  );
  process.exit(0);
}

const readJson = (file) => JSON.parse(fs.readFileSync(path.join(repo, file), 'utf8'));
const lock = readJson('package-lock.json');
const pkg = readJson('package.json');
const packages = lock.packages ?? {};
const problems = [];

const FIELDS = ['dependencies', 'devDependencies', 'optionalDependencies'];
function sameDeclarations(where, manifest, locked) {
  for (const field of FIELDS) {
    const a = manifest[field] ?? {};
    const b = locked?.[field] ?? {};
    for (const name of new Set([...Object.keys(a), ...Object.keys(b)])) {
      if (a[name] !== b[name]) {
        problems.push(
          `${where} ${field}.${name}: package.json has ${a[name] ?? 'nothing'}, the lock has ${b[name] ?? 'nothing'}`,
        );
      }
    }
  }
}

if (lock.lockfileVersion < 2) problems.push(`lockfileVersion ${lock.lockfileVersion}: npm >= 7 writes 3`);
sameDeclarations('package.json', pkg, packages['']);
for (const ws of pkg.workspaces ?? [])
  sameDeclarations(`${ws}/package.json`, readJson(path.join(ws, 'package.json')), packages[ws]);

/** Node's resolution inside the lock: `from`/node_modules/name, then each enclosing node_modules, then the root. */
function resolves(from, name) {
  let dir = from;
  for (;;) {
    const candidate = dir ? `${dir}/node_modules/${name}` : `node_modules/${name}`;
    if (packages[candidate]) return true;
    if (!dir) return false;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut >= 0 ? dir.slice(0, cut) : '';
  }
}

for (const [key, entry] of Object.entries(packages)) {
  if (entry.link) continue;
  for (const field of ['dependencies', 'optionalDependencies']) {
    for (const name of Object.keys(entry[field] ?? {})) {
      if (!resolves(key, name))
        problems.push(
          `${key || '(root)'}: ${field === 'optionalDependencies' ? 'optional ' : ''}${name} is not in the lock`,
        );
    }
  }
}

if (problems.length) {
  console.error(`check-lock: package-lock.json would be refused by \`npm ci\` (${problems.length} problem(s)):`);
  for (const p of problems.slice(0, 40)) console.error(`  ${p}`);
  if (problems.length > 40) console.error(`  ... and ${problems.length - 40} more`);
  console.error(
    'check-lock: run `npm install`; if problems remain: rm -rf node_modules package-lock.json && npm install',
  );
  process.exit(1);
}
console.log(`check-lock: package-lock.json is complete (${Object.keys(packages).length} entries)`);
