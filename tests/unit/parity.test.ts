/**
 * Parity between the PyTorch trainer and the viewer's TypeScript inference module:
 *  1. model: a random checkpoint exported by `ssclnet export` (float32 and float16) gives PyTorch's probabilities
 *     on the exported parity inputs (max |dp| <= 1e-4 float32, <= 2e-3 float16);
 *  2. preprocessing: real files (8-bit JPEG, 16-bit DICOM incl. big endian) through Python and TypeScript give
 *     the same tensor. Compared on identical decoded pixels (tolerance 1e-5); the decoders are checked on their own:
 *     dicom-parser must equal pydicom exactly, jpeg-js may differ from libjpeg by +-1 grey level
 *     (measured: 1), which moves the tensor by < 0.02 in normalised units (measured: ~0.01).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  classifyBatch,
  loadModel,
  predictWithLogits,
  type LoadedModel,
} from '../../extension/src/inference/classifier';
import { readDicomSlices } from '../../extension/src/inference/dicomFile';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import { preprocess } from '../../extension/src/inference/preprocess';
import type { PreprocessSpec } from '../../extension/src/inference/types';
import { decodeJpeg } from '../../extension/src/inference/node/imageFile';
import {
  FIXTURES,
  exportModel,
  maxAbsDiff,
  python,
  randomCheckpoint,
  readFloat32,
  readFloat64,
  readJson,
  syntheticGate,
  tmpDir,
} from './inferenceFixtures';

interface Expected {
  count: number;
  logits: number[][];
  probabilities: number[][];
  /** card_format 2: the feature-gate score, in_range and calibrated probabilities of each input. */
  score?: number[];
  in_range?: boolean[];
  calibrated_probabilities?: number[][];
}

/** Relative score tolerance (CONTRACT: float16 weights |d score| / score <= 1e-2). */
const SCORE_TOLERANCE = { float32: 1e-3, float16: 1e-2, uint8: 1e-2 } as const;

/**
 * When the card has a feature gate / calibration: the viewer's score and calibrated probabilities against PyTorch's.
 * Returns the worst relative score difference (0 when the card has no gate).
 */
async function checkTrust(
  loaded: LoadedModel,
  dir: string,
  expected: Expected,
  dtype: 'float32' | 'float16' | 'uint8',
): Promise<number> {
  if (!loaded.card.in_range?.features && !loaded.card.calibration) {
    expect(expected.score).toBeUndefined();
    return 0;
  }
  expect(expected.score).toHaveLength(expected.count);
  expect(expected.calibrated_probabilities).toHaveLength(expected.count);
  const results = await classifyBatch(loaded, readFloat32(path.join(dir, 'parity', 'inputs.bin')), expected.count);
  let worst = 0;
  results.forEach((r, i) => {
    const rel = Math.abs(r.score! - expected.score![i]) / Math.abs(expected.score![i]);
    worst = Math.max(worst, rel);
    expect(rel).toBeLessThanOrEqual(SCORE_TOLERANCE[dtype]);
    expect(maxAbsDiff(r.probabilities, expected.calibrated_probabilities![i])).toBeLessThanOrEqual(TOLERANCE[dtype]);
    // Same decision, unless the score sits within the tolerance of the threshold.
    const threshold = loaded.trust.gate!.threshold;
    if (Math.abs(expected.score![i] - threshold) / threshold > SCORE_TOLERANCE[dtype])
      expect(r.outOfRange === null).toBe(expected.in_range![i]);
  });
  return worst;
}

// uint8: the expected vectors come from the same uint8-rounded weights (ssclnet.tfjs_layers.fake_quantize_uint8_),
// so only the float16 of the small tensors and float arithmetic remain, as for float16.
const TOLERANCE = { float32: 1e-4, float16: 2e-3, uint8: 2e-3 } as const;

describe('model parity (PyTorch -> TensorFlow.js)', () => {
  let work: string;
  let checkpoint: string;

  beforeAll(() => {
    work = tmpDir('parity');
    checkpoint = randomCheckpoint(work, 64);
  }, 120_000);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  test.each(['float32', 'float16', 'uint8'] as const)(
    '%s export reproduces PyTorch probabilities, gate score and calibrated probabilities',
    async (dtype) => {
      const gate = syntheticGate(checkpoint, path.join(work, `gate-${dtype}`));
      const dir = exportModel(checkpoint, path.join(work, dtype), `parity-${dtype}`, dtype, ['--gate', gate]);
      const model = await loadModel({ source: fsSource(dir), backend: 'wasm' });
      const expected = readJson<Expected>(path.join(dir, 'parity', 'expected.json'));
      const inputs = readFloat32(path.join(dir, 'parity', 'inputs.bin'));
      const got = await predictWithLogits(model, inputs, expected.count);
      const dp = maxAbsDiff(got.probabilities.flat(), expected.probabilities.flat());
      const dl = maxAbsDiff(got.logits.flat(), expected.logits.flat());
      const ds = await checkTrust(model, dir, expected, dtype);
      console.log(
        `${dtype}: max |dp| = ${dp.toExponential(2)}, max |dlogit| = ${dl.toExponential(2)}, max |dscore|/score = ${ds.toExponential(2)} (${model.backend})`,
      );
      expect(dp).toBeLessThanOrEqual(TOLERANCE[dtype]);
      expect(model.card.card_format).toBe(2);
      if (dtype === 'uint8') {
        // The large convolutions are stored as uint8: about half of float16's bytes.
        const bytes = (d: string) =>
          fs
            .readdirSync(d)
            .filter((f) => f.endsWith('.bin'))
            .reduce((n, f) => n + fs.statSync(path.join(d, f)).size, 0);
        const ratio = bytes(dir) / bytes(path.join(work, 'float16'));
        expect(ratio).toBeGreaterThan(0.45);
        expect(ratio).toBeLessThan(0.6);
        const manifest = readJson<{ weightsManifest: { weights: { quantization?: { dtype: string } }[] }[] }>(
          path.join(dir, 'model.json'),
        );
        const kinds = manifest.weightsManifest[0].weights.map((w) => w.quantization?.dtype);
        expect(kinds).toContain('uint8');
        expect(kinds).toContain('float16');
      }
      // The vectors must be able to fail: probabilities far from uniform, so a wrong layer would show.
      expect(Math.max(...expected.probabilities.flat())).toBeGreaterThan(0.5);
      model.model.dispose();
    },
    120_000,
  );
});

describe('preprocessing parity (Python vs TypeScript) on real files', () => {
  const files = [
    ...fs.readdirSync(path.join(FIXTURES, 'jpeg')).map((f) => path.join(FIXTURES, 'jpeg', f)),
    ...fs.readdirSync(path.join(FIXTURES, 'dicom')).map((f) => path.join(FIXTURES, 'dicom', f)),
  ].sort();
  let out: string;
  let vectors: {
    preprocess: PreprocessSpec;
    entries: {
      file: string;
      width: number;
      height: number;
      channels: 1 | 3 | 4;
      slope: number;
      intercept: number;
      monochrome1: boolean;
      raw: string;
      tensor: string;
    }[];
  };

  beforeAll(() => {
    out = tmpDir('prep');
    python(['-m', 'ssclnet.parity', 'preprocess', '--out', out, '--input-size', '224', ...files]);
    vectors = readJson(path.join(out, 'vectors.json'));
  }, 120_000);
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test('has JPEG and 16-bit DICOM fixtures', () => {
    expect(files.filter((f) => f.endsWith('.jpg')).length).toBeGreaterThanOrEqual(2);
    expect(files.filter((f) => f.endsWith('.dcm')).length).toBeGreaterThanOrEqual(2);
  });

  test('same tensor from the same decoded pixels (max |d| <= 1e-5)', () => {
    let worst = 0;
    for (const e of vectors.entries) {
      const raw = readFloat64(path.join(out, e.raw));
      const ts = preprocess(
        {
          data: raw,
          width: e.width,
          height: e.height,
          channels: e.channels,
          slope: e.slope,
          intercept: e.intercept,
          monochrome1: e.monochrome1,
        },
        vectors.preprocess,
      );
      const py = readFloat32(path.join(out, e.tensor));
      expect(ts.length).toBe(py.length);
      worst = Math.max(worst, maxAbsDiff(ts, py));
    }
    console.log(
      `preprocessing on identical pixels: max |d| = ${worst.toExponential(2)} over ${vectors.entries.length} files`,
    );
    expect(worst).toBeLessThanOrEqual(1e-5);
  });

  test('dicom-parser reads exactly the pixels and rescale pydicom reads (little and big endian)', () => {
    for (const e of vectors.entries.filter((x) => x.file.endsWith('.dcm'))) {
      const [slice] = readDicomSlices(new Uint8Array(fs.readFileSync(e.file)));
      expect([slice.width, slice.height, slice.slope, slice.intercept, slice.monochrome1]).toEqual([
        e.width,
        e.height,
        e.slope,
        e.intercept,
        e.monochrome1,
      ]);
      expect(maxAbsDiff(Array.from(slice.data), readFloat64(path.join(out, e.raw)))).toBe(0);
      const ts = preprocess(slice, vectors.preprocess);
      expect(maxAbsDiff(ts, readFloat32(path.join(out, e.tensor)))).toBeLessThanOrEqual(1e-5);
    }
  });

  test('jpeg-js vs Pillow: decoder difference, and its effect on the tensor', () => {
    for (const e of vectors.entries.filter((x) => x.file.endsWith('.jpg'))) {
      const slice = decodeJpeg(new Uint8Array(fs.readFileSync(e.file)));
      expect([slice.width, slice.height, slice.channels]).toEqual([e.width, e.height, e.channels]);
      const pixelDiff = maxAbsDiff(Array.from(slice.data), readFloat64(path.join(out, e.raw)));
      const tensorDiff = maxAbsDiff(preprocess(slice, vectors.preprocess), readFloat32(path.join(out, e.tensor)));
      console.log(
        `${path.basename(e.file)}: decoder max |d| = ${pixelDiff} grey levels, tensor max |d| = ${tensorDiff.toExponential(2)}`,
      );
      expect(pixelDiff).toBeLessThanOrEqual(2);
      expect(tensorDiff).toBeLessThanOrEqual(0.02);
    }
  });
});

describe('the shipped models (models/: the demo default and the variants published with it)', () => {
  const registry = path.join(__dirname, '..', '..', 'models');
  const index = readJson<{ latest: string; versions: { version: string; created: string }[] }>(
    path.join(registry, 'models.json'),
  );
  const since = index.versions.find((v) => v.version === index.latest)!.created;
  const shipped = index.versions.filter((v) => v.created >= since).map((v) => v.version);

  test.each(shipped)(
    '%s loads verified from the registry and reproduces its PyTorch parity vectors',
    async (version) => {
      const loaded = await loadModel({ source: fsSource(registry), backend: 'wasm', version });
      expect(loaded.card.version).toBe(version);
      const dir = path.join(registry, version);
      const expected = readJson<Expected>(path.join(dir, 'parity', 'expected.json'));
      const got = await predictWithLogits(loaded, readFloat32(path.join(dir, 'parity', 'inputs.bin')), expected.count);
      const dp = maxAbsDiff(got.probabilities.flat(), expected.probabilities.flat());
      const ds = await checkTrust(loaded, dir, expected, loaded.card.dtype);
      console.log(
        `shipped ${version} (${loaded.card.dtype}, card_format ${loaded.card.card_format}): max |dp| = ${dp.toExponential(2)}, max |dscore|/score = ${ds.toExponential(2)} on ${expected.count} real slices`,
      );
      expect(dp).toBeLessThanOrEqual(TOLERANCE[loaded.card.dtype]);
      loaded.model.dispose();
    },
    120_000,
  );
});
