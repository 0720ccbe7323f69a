/** Admin registry (`ssclnet publish`) as the viewer sees it: latest, explicit versions, rollback, integrity. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadModel } from '../../extension/src/inference/classifier';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import type { RegistryIndex } from '../../extension/src/inference/types';
import { exportModel, python, randomCheckpoint, readJson, tmpDir } from './inferenceFixtures';

let work: string;
let registry: string;

beforeAll(() => {
  work = tmpDir('registry');
  registry = path.join(work, 'registry');
  const ckpt = randomCheckpoint(work, 32);
  for (const v of ['r1', 'r2']) {
    exportModel(ckpt, path.join(work, v), v);
    python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--model', path.join(work, v)]);
  }
}, 180_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('viewers get `latest`, or an explicit version', async () => {
  const index = readJson<RegistryIndex>(path.join(registry, 'models.json'));
  expect(index.latest).toBe('r2');
  expect((await loadModel({ source: fsSource(registry), backend: 'wasm' })).version).toBe('r2');
  expect((await loadModel({ source: fsSource(registry), version: 'r1', backend: 'wasm' })).version).toBe('r1');
  await expect(loadModel({ source: fsSource(registry), version: 'r9' })).rejects.toThrow(
    /version r9 is not in models.json/,
  );
});

test('rollback moves latest back and viewers follow', async () => {
  python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--rollback', 'r1']);
  expect((await loadModel({ source: fsSource(registry), backend: 'wasm' })).version).toBe('r1');
  python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--rollback', 'r2']);
});

test('a card changed after publishing is refused (registry card_sha256)', async () => {
  const card = path.join(registry, 'r2', 'model-card.json');
  const original = fs.readFileSync(card);
  try {
    fs.writeFileSync(card, original.toString('utf8').replace('"version": "r2"', '"version": "r2", "note": "edited"'));
    await expect(loadModel({ source: fsSource(registry), backend: 'wasm' })).rejects.toThrow(
      /SHA-256 mismatch for r2\/model-card.json/,
    );
  } finally {
    fs.writeFileSync(card, original);
  }
});
