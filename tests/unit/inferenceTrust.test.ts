/**
 * Issue 15, inference side: a card_format 2 artifact (calibration + in_range, `ood/gaussians.bin`) exported by the
 * real trainer CLI from a random checkpoint with a synthetic gate; the viewer's module must reproduce PyTorch's
 * feature-gate score and calibrated probabilities, decline what the gate declines (probabilities kept for audit),
 * verify the gate file like every other, and keep card_format 1 artifacts working.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { classify, classifyBatch, fromLayersModel, loadModel } from '../../extension/src/inference/classifier';
import { readDicomSlices } from '../../extension/src/inference/dicomFile';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import { IntegrityError } from '../../extension/src/inference/sha256';
import { OUT_OF_RANGE_LABEL, type ModelCard } from '../../extension/src/inference/types';
import {
  FIXTURES,
  exportModel,
  maxAbsDiff,
  randomCheckpoint,
  readFloat32,
  readJson,
  syntheticGate,
  tmpDir,
} from './inferenceFixtures';

interface Expected {
  count: number;
  probabilities: number[][];
  calibrated_probabilities: number[][];
  score: number[];
  in_range: boolean[];
  temperature: number;
  threshold: number;
}

let work: string;
let gated: string;
let plain: string;

beforeAll(() => {
  work = tmpDir('trust');
  const ckpt = randomCheckpoint(work, 32);
  const gate = syntheticGate(ckpt, path.join(work, 'gate'));
  gated = exportModel(ckpt, path.join(work, 'gated'), 'trust-2', 'float32', ['--gate', gate]);
  plain = exportModel(ckpt, path.join(work, 'plain'), 'trust-1', 'float32');
}, 180_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function copy(name: string): string {
  const dir = path.join(work, name);
  fs.cpSync(gated, dir, { recursive: true });
  return dir;
}

test('card_format 2: score and calibrated probabilities equal PyTorch; the gate declines what PyTorch declines', async () => {
  const loaded = await loadModel({ source: fsSource(gated), backend: 'wasm' });
  const card = loaded.card;
  expect(card.card_format).toBe(2);
  expect(loaded.trust.gate?.dim).toBe(512);
  const expected = readJson<Expected>(path.join(gated, 'parity', 'expected.json'));
  expect(loaded.trust.temperature).toBe(expected.temperature);
  // The synthetic gate puts some parity inputs in range and some out: both paths are exercised.
  expect(expected.in_range).toContain(true);
  expect(expected.in_range).toContain(false);
  const results = await classifyBatch(loaded, readFloat32(path.join(gated, 'parity', 'inputs.bin')), expected.count);
  results.forEach((r, i) => {
    expect(Math.abs(r.score! - expected.score[i]) / expected.score[i]).toBeLessThanOrEqual(1e-4);
    expect(maxAbsDiff(r.probabilities, expected.calibrated_probabilities[i])).toBeLessThanOrEqual(1e-4);
    expect(r.calibrated).toBe(true);
    if (expected.in_range[i]) {
      expect(r.outOfRange).toBeNull();
      expect(r.top.label).toBe(card.classes[r.top.index]);
    } else {
      expect(r.outOfRange).toMatchObject({ stage: 'features', threshold: expected.threshold });
      expect(r.outOfRange!.reason).toMatch(/unlike the images the model was trained on/);
      expect(r.top).toEqual({ label: OUT_OF_RANGE_LABEL, probability: 0, index: -1 });
      expect(r.probabilities).toHaveLength(4); // kept for audit
      expect(r.modelTop!.index).toBe(r.probabilities.indexOf(Math.max(...r.probabilities)));
    }
  });
  // Calibration changes the probabilities (T != 1) but never the ranking.
  results.forEach((r, i) => {
    expect(maxAbsDiff(r.probabilities, expected.probabilities[i])).toBeGreaterThan(1e-3);
    const top = (r.modelTop ?? r.top).index;
    expect(top).toBe(expected.probabilities[i].indexOf(Math.max(...expected.probabilities[i])));
  });
  loaded.model.dispose();
});

test('metadata gate first: a sagittal DICOM slice is declined before inference, with no probabilities', async () => {
  const loaded = await loadModel({ source: fsSource(gated), backend: 'wasm' });
  const [slice] = readDicomSlices(
    new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'dicom', 'studyforrest-N2D_0189.dcm'))),
  );
  const sagittal = { ...slice.attributes, ImageOrientationPatient: [0, 1, 0, 0, 0, -1] };
  const r = await classify(loaded, slice, { attributes: sagittal });
  expect(r.outOfRange).toEqual({ stage: 'metadata', reason: 'not an axial slice (sagittal, 90° from axial)' });
  expect(r.probabilities).toEqual([]);
  expect(r.top.index).toBe(-1);
  const axial = await classify(loaded, slice, { attributes: slice.attributes });
  expect(axial.outOfRange?.stage ?? 'in range').not.toBe('metadata');
  expect(axial.probabilities).toHaveLength(4);
  loaded.model.dispose();
});

test('the gate file is verified like every other file', async () => {
  const tampered = copy('tampered-gate');
  const file = path.join(tampered, 'ood', 'gaussians.bin');
  const b = fs.readFileSync(file);
  b[1000] ^= 0x40;
  fs.writeFileSync(file, b);
  await expect(loadModel({ source: fsSource(tampered), backend: 'wasm' })).rejects.toThrow(IntegrityError);
  await expect(loadModel({ source: fsSource(tampered), backend: 'wasm' })).rejects.toThrow(
    /SHA-256 mismatch for ood\/gaussians.bin/,
  );

  const missing = copy('missing-gate');
  fs.rmSync(path.join(missing, 'ood', 'gaussians.bin'));
  await expect(loadModel({ source: fsSource(missing), backend: 'wasm' })).rejects.toThrow(
    /ood\/gaussians.bin is missing/,
  );

  const escaping = copy('escaping-gate');
  const cardPath = path.join(escaping, 'model-card.json');
  const card = readJson<ModelCard>(cardPath);
  card.in_range!.features!.file = '../gaussians.bin';
  fs.writeFileSync(cardPath, JSON.stringify(card));
  await expect(loadModel({ source: fsSource(escaping), backend: 'wasm' })).rejects.toThrow(
    /relative path inside the model folder/,
  );
});

test('unknown card formats and gate methods are refused, not silently run without a gate', async () => {
  for (const [name, edit, message] of [
    ['format-3', (c: ModelCard) => (c.card_format = 3), /card_format 3 is not supported/],
    [
      'method',
      (c: ModelCard) => (c.in_range!.features!.method = 'energy' as 'mahalanobis-tied'),
      /feature gate method energy is not supported/,
    ],
    ['temperature', (c: ModelCard) => (c.calibration!.temperature = 0), /temperature must be a positive number/],
  ] as const) {
    const dir = copy(name);
    const cardPath = path.join(dir, 'model-card.json');
    const card = readJson<ModelCard>(cardPath);
    edit(card);
    fs.writeFileSync(cardPath, JSON.stringify(card));
    await expect(loadModel({ source: fsSource(dir), backend: 'wasm' })).rejects.toThrow(message);
  }
});

test("card_format 1 keeps working: no gate, no calibration, the model's own probabilities", async () => {
  const loaded = await loadModel({ source: fsSource(plain), backend: 'wasm' });
  expect(loaded.card.card_format).toBe(1);
  expect(loaded.trust.gate).toBeNull();
  expect(loaded.trust.temperature).toBeNull();
  const expected = readJson<Expected>(path.join(plain, 'parity', 'expected.json'));
  const results = await classifyBatch(loaded, readFloat32(path.join(plain, 'parity', 'inputs.bin')), expected.count);
  results.forEach((r, i) => {
    expect(r.outOfRange).toBeNull();
    expect(r.score).toBeUndefined();
    expect(r.calibrated).toBeUndefined();
    expect(maxAbsDiff(r.probabilities, expected.probabilities[i])).toBeLessThanOrEqual(1e-4);
  });
  loaded.model.dispose();
});

test('no tensor leak on the gated path (features + logits + probabilities in one forward pass)', async () => {
  await tf.setBackend('wasm');
  const input = tf.input({ shape: [16, 16, 1] });
  const x = tf.layers
    .conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' })
    .apply(input) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({ name: 'avgpool' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: 4, name: 'logits' }).apply(pooled) as tf.SymbolicTensor;
  const out = tf.layers.activation({ activation: 'softmax', name: 'probabilities' }).apply(logits) as tf.SymbolicTensor;
  const card = readJson<ModelCard>(path.join(gated, 'model-card.json'));
  card.preprocess = { ...card.preprocess, input_size: 16 };
  card.in_range!.features!.dim = 8;
  const gaussians = new Uint8Array(4 * (4 * 8 + 8 * 8));
  const view = new DataView(gaussians.buffer);
  for (let i = 0; i < 8; i++) view.setFloat32(4 * (32 + i * 8 + i), 1, true); // precision = identity, means 0
  const loaded = fromLayersModel(tf.model({ inputs: input, outputs: out }), card, 'wasm', 'memory', gaussians);
  const slice = { data: Uint16Array.from({ length: 40 * 30 }, (_, i) => (i * 37) % 4096), width: 40, height: 30 };
  const first = await classify(loaded, slice);
  expect(first.score).toBeGreaterThanOrEqual(0);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 300; i++) await classify(loaded, slice);
  expect(tf.memory().numTensors).toBe(before);
  loaded.model.dispose();
});
