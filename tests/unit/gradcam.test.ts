/**
 * Grad-CAM in TensorFlow.js (extension/src/inference/gradcam.ts) against PyTorch (`ssclnet explain`).
 *
 * Fixture: tests/fixtures/gradcam/ = `ssclnet explain --model models --parity --no-png --out tests/fixtures/gradcam`:
 * PyTorch's Grad-CAM of the shipped model (float16 weights, imported back exactly) on the artifact's parity inputs
 * (6 real slices: 4 dev JPEGs, 2 DICOMs). Both sides compute in float32 from the same float16 weights, so the only
 * differences are float32 arithmetic order (and the fixture's uint8 quantisation of the heatmap, <= 0.002).
 * Tolerances (stated in docs/results.md): same class explained; normalised heatmap max |d| <= 0.05 and Pearson
 * >= 0.99 per input; raw maps (every layer3/layer4 x gradcam/gradcam++ variant) Pearson >= 0.99 and
 * max |d| <= 2 % of the map's peak.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { loadModel, type LoadedModel } from '../../extension/src/inference/classifier';
import {
  camLayerName,
  colorize,
  conv2dInputGrad,
  gradcam,
  gradcamBatch,
  heatmapOnImage,
  releaseGradcam,
  type CamMethod,
} from '../../extension/src/inference/gradcam';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import { exportModel, maxAbsDiff, randomCheckpoint, readFloat32, readJson, REPO, tmpDir } from './inferenceFixtures';

const FIXTURE = path.join(REPO, 'tests', 'fixtures', 'gradcam');
const REGISTRY = path.join(REPO, 'models');
const HEATMAP_MAX_ABS = 0.05;
const MIN_PEARSON = 0.99;
const RAW_REL = 0.02;

interface Fixture {
  model_version: string;
  layer: string;
  method: CamMethod;
  input_shape: [number, number, number, number];
  inputs: {
    source: string;
    class_index: number;
    probabilities: number[];
    raw: number[];
    raw_shape: [number, number];
  }[];
  variants: Record<string, { layer: string; method: CamMethod; shape: [number, number]; raw: number[][] }>;
}

export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i] / n;
    mb += b[i] / n;
  }
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa === 0 && sbb === 0 ? 1 : sab / Math.sqrt(saa * sbb);
}

describe('Grad-CAM: TensorFlow.js = PyTorch on the shipped model', () => {
  const fx = readJson<Fixture>(path.join(FIXTURE, 'gradcam.json'));
  const [n, s] = fx.input_shape;
  const heatU8 = new Uint8Array(fs.readFileSync(path.join(FIXTURE, 'heatmaps.u8.bin')));
  let loaded: LoadedModel;
  let inputs: Float32Array;

  beforeAll(async () => {
    loaded = await loadModel({ source: fsSource(REGISTRY), version: fx.model_version, backend: 'wasm' });
    inputs = readFloat32(path.join(REGISTRY, fx.model_version, 'parity', 'inputs.bin'));
  }, 120_000);
  afterAll(() => {
    if (!loaded) return;
    const before = tf.memory().numTensors;
    releaseGradcam(loaded);
    expect(tf.memory().numTensors).toBeLessThan(before);
    loaded.model.dispose();
  });

  test('fixture is the default target (layer3 Grad-CAM) of a published version, 6 inputs', () => {
    expect(fx.layer).toBe(camLayerName('layer3'));
    expect(fx.method).toBe('gradcam');
    expect(n).toBe(6);
    expect(heatU8.length).toBe(n * s * s);
  });

  test(`heatmaps agree: same class, max |d| <= ${HEATMAP_MAX_ABS}, Pearson >= ${MIN_PEARSON}`, async () => {
    const got = await gradcamBatch(loaded, inputs, n);
    let worstAbs = 0;
    let worstR = 1;
    let worstRaw = 0;
    got.forEach((g, i) => {
      const e = fx.inputs[i];
      expect(g.classIndex).toBe(e.class_index);
      expect(g.layer).toBe(fx.layer);
      expect([g.rawHeight, g.rawWidth]).toEqual(e.raw_shape);
      expect(maxAbsDiff(g.probabilities, e.probabilities)).toBeLessThanOrEqual(2e-3);
      const want = Float32Array.from(heatU8.subarray(i * s * s, (i + 1) * s * s), (v) => v / 255);
      const d = maxAbsDiff(g.heatmap, want);
      const r = pearson(g.heatmap, want);
      const peak = Math.max(...e.raw);
      const dr = maxAbsDiff(g.raw, e.raw) / peak;
      worstAbs = Math.max(worstAbs, d);
      worstR = Math.min(worstR, r);
      worstRaw = Math.max(worstRaw, dr);
      expect(d).toBeLessThanOrEqual(HEATMAP_MAX_ABS);
      expect(r).toBeGreaterThanOrEqual(MIN_PEARSON);
      expect(dr).toBeLessThanOrEqual(RAW_REL);
      expect(Math.min(...g.heatmap)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...g.heatmap)).toBeCloseTo(1, 5);
    });
    console.log(
      `Grad-CAM ${fx.layer} on ${fx.model_version} (${loaded.card.dtype}, ${loaded.backend}), ${n} inputs: ` +
        `heatmap max |d| = ${worstAbs.toFixed(4)}, min Pearson = ${worstR.toFixed(5)}, raw max |d|/peak = ${worstRaw.toExponential(2)}`,
    );
  }, 120_000);

  test('every layer3/layer4 x gradcam/gradcam++ variant agrees on the raw map', async () => {
    for (const [name, v] of Object.entries(fx.variants)) {
      const got = await gradcamBatch(loaded, inputs, n, undefined, { layer: v.layer, method: v.method });
      got.forEach((g, i) => {
        expect([g.rawHeight, g.rawWidth]).toEqual(v.shape);
        const peak = Math.max(...v.raw[i]);
        const r = pearson(g.raw, v.raw[i]);
        const dr = maxAbsDiff(g.raw, v.raw[i]) / peak;
        if (r < MIN_PEARSON || dr > RAW_REL) throw new Error(`${name} input ${i}: Pearson ${r}, max |d|/peak ${dr}`);
      });
    }
  }, 120_000);

  test('one slice, a chosen class, and no leaked tensors', async () => {
    const one = inputs.subarray(0, s * s);
    await gradcam(loaded, one); // plan and kernels built
    const before = tf.memory().numTensors;
    const pred = await gradcam(loaded, one);
    const other = await gradcam(loaded, one, (pred.classIndex + 1) % loaded.card.classes.length);
    expect(tf.memory().numTensors).toBe(before);
    expect(pred.classIndex).toBe(fx.inputs[0].class_index);
    expect(other.classIndex).not.toBe(pred.classIndex);
    expect(pearson(pred.heatmap, other.heatmap)).toBeLessThan(0.99);
    await expect(gradcam(loaded, one, 7)).rejects.toThrow(/class index/);
    await expect(gradcam(loaded, one.subarray(1))).rejects.toThrow(/values for 1 input/);
    await expect(gradcam(loaded, one, undefined, { layer: 'nope' })).rejects.toThrow();
  }, 120_000);
});

describe('Grad-CAM on a folded export (BatchNorm in the convs, ReLU fused)', () => {
  test('equals Grad-CAM on the same checkpoint exported with BatchNorm layers', async () => {
    const dir = tmpDir('gradcam-fold');
    const ckpt = randomCheckpoint(dir, 32, 7);
    const models: LoadedModel[] = [];
    for (const [name, extra] of [
      ['folded', []],
      ['plain', ['--no-fold-batchnorm']],
    ] as [string, string[]][]) {
      exportModel(ckpt, path.join(dir, name), `gc-${name}`, 'float32', extra);
      models.push(await loadModel({ source: fsSource(path.join(dir, name)), backend: 'wasm' }));
    }
    const layers = models.map((m) => m.model.layers.map((l) => l.getClassName()));
    expect(layers[0]).not.toContain('BatchNormalization');
    expect(layers[1]).toContain('BatchNormalization');
    const x = readFloat32(path.join(dir, 'folded', 'parity', 'inputs.bin')).subarray(0, 32 * 32);
    for (const target of ['layer3', 'layer4'] as const) {
      const [a, b] = await Promise.all(models.map((m) => gradcam(m, x, 1, { layer: target })));
      expect(pearson(a.raw, b.raw)).toBeGreaterThanOrEqual(0.9999);
      expect(maxAbsDiff(a.raw, b.raw) / Math.max(...b.raw.map(Math.abs))).toBeLessThanOrEqual(1e-3);
    }
    models.forEach((m) => {
      releaseGradcam(m);
      m.model.dispose();
    });
  }, 120_000);
});

describe('the input gradient as a forward convolution', () => {
  // Odd and even sizes, strides 1 and 2, kernels 1 and 3: against tf.conv2d's own gradient (Conv2DBackpropInput).
  test.each([
    [9, 3, 2, 'valid'],
    [10, 3, 2, 'valid'],
    [7, 1, 2, 'valid'],
    [8, 1, 2, 'valid'],
    [6, 3, 1, 'valid'],
    [5, 3, 1, 'same'],
  ] as const)('input %i, kernel %i, stride %i, %s', async (size, k, stride, padding) => {
    await tf.setBackend('wasm');
    const [x, w, up] = [
      tf.randomNormal([2, size, size, 3], 0, 1, 'float32', 1),
      tf.randomNormal([k, k, 3, 5], 0, 1, 'float32', 2),
      tf.randomNormal([2, 5], 0, 1, 'float32', 3),
    ];
    const flipped = tf.transpose(tf.reverse(w, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
    // A scalar that depends on every output position, non-uniformly.
    const score = (y: tf.Tensor4D): tf.Scalar => tf.sum(tf.mul(tf.sin(y), tf.reshape(up, [2, 1, 1, 5])));
    const ours = tf.grad((t: tf.Tensor) =>
      score(conv2dInputGrad(t as tf.Tensor4D, w as tf.Tensor4D, flipped, [stride, stride], padding)),
    )(x);
    const ref = tf.grad((t: tf.Tensor) => score(tf.conv2d(t as tf.Tensor4D, w as tf.Tensor4D, stride, padding)))(x);
    expect(ours.shape).toEqual(x.shape);
    expect(maxAbsDiff(await ours.data(), await ref.data())).toBeLessThan(1e-4);
    tf.dispose([x, w, up, flipped, ours, ref]);
  });
});

describe('heatmap geometry and colours', () => {
  test('heatmapOnImage undoes the centred pad-to-square and resize', () => {
    // 4x4 heatmap, bright in column 0 only, i.e. the left quarter of the padded square.
    const heatmap = Float32Array.from({ length: 16 }, (_, i) => (i % 4 === 0 ? 1 : 0));
    const same = heatmapOnImage({ heatmap, size: 4 }, 4, 4);
    expect(Array.from(same)).toEqual(Array.from(heatmap));
    // A 2-wide, 4-high slice was padded by 1 column each side: its column 0 is the square's column 1.
    const narrow = heatmapOnImage({ heatmap, size: 4 }, 2, 4);
    expect(narrow.length).toBe(8);
    for (let y = 0; y < 4; y++) {
      expect(narrow[y * 2]).toBeCloseTo(0, 6);
      expect(narrow[y * 2 + 1]).toBeCloseTo(0, 6);
    }
    // An 8x8 slice: half-pixel-centred bilinear upsampling; pixel 0 sits on the bright column, pixel 2 between.
    const big = heatmapOnImage({ heatmap, size: 4 }, 8, 8);
    expect(big[0]).toBeCloseTo(1, 6);
    expect(big[1]).toBeCloseTo(0.75, 6);
    expect(big[2]).toBeCloseTo(0.25, 6);
  });

  test('colorize: jet colours, opacity, transparent below the threshold', () => {
    const rgba = colorize([0, 0.5, 1], 0.5, 0.2);
    expect(Array.from(rgba.subarray(0, 4))).toEqual([0, 0, 128, 0]);
    expect(Array.from(rgba.subarray(4, 8))).toEqual([128, 255, 128, 128]);
    expect(Array.from(rgba.subarray(8, 12))).toEqual([128, 0, 0, 128]);
  });
});
