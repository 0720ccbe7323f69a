/** The TypeScript preprocessing on synthetic inputs: each step's defining property. */
import {
  checkSpec,
  padToSquare,
  preprocess,
  rankValue,
  resizeSquare,
  robustUnit,
  toLuma,
  triangleWeights,
} from '../../extension/src/inference/preprocess';
import type { PreprocessSpec } from '../../extension/src/inference/types';

const SPEC: PreprocessSpec = {
  input_size: 16,
  channels: 1,
  fit: 'pad-square-min',
  resize: 'triangle-antialiased',
  low_percentile: 0.5,
  high_percentile: 99.5,
  mean: 0.5,
  std: 0.5,
  color: 'luma-bt601',
  version: 1,
};

function ramp(w: number, h: number, f = (x: number, y: number) => x + 10 * y): Float64Array {
  const a = new Float64Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) a[y * w + x] = f(x, y);
  return a;
}

describe('preprocess steps', () => {
  test('resize weights: rows sum to 1, stay inside the image, widen when downscaling', () => {
    for (const [inSize, outSize] of [
      [256, 224],
      [512, 224],
      [100, 224],
      [224, 16],
    ]) {
      const rows = triangleWeights(inSize, outSize);
      expect(rows).toHaveLength(outSize);
      for (const r of rows) {
        expect(r.weights.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        expect(r.start).toBeGreaterThanOrEqual(0);
        expect(r.start + r.weights.length).toBeLessThanOrEqual(inSize);
      }
      const taps = Math.max(...rows.map((r) => r.weights.filter((w) => w > 0).length));
      expect(taps).toBeGreaterThanOrEqual(Math.floor(2 * Math.max(1, inSize / outSize)) - 1);
    }
  });

  test('resize keeps a constant image constant and a linear ramp monotonic', () => {
    const flat = resizeSquare(new Float64Array(40 * 40).fill(7), 40, 16);
    expect(Math.max(...flat)).toBeCloseTo(7, 12);
    expect(Math.min(...flat)).toBeCloseTo(7, 12);
    const r = resizeSquare(
      ramp(40, 40, (x) => x),
      40,
      16,
    );
    for (let i = 1; i < 16; i++) expect(r[i]).toBeGreaterThan(r[i - 1]);
  });

  test('pad to square: centred, extra pixel bottom/right, filled with the minimum', () => {
    const img = ramp(4, 1, (x) => 5 + x); // 4 wide, 1 high: 5 6 7 8
    const { data, size } = padToSquare(img, 4, 1);
    expect(size).toBe(4);
    expect(Array.from(data.subarray(4, 8))).toEqual([5, 6, 7, 8]); // row 1 = floor((4 - 1) / 2)
    expect(data.filter((v) => v === 5)).toHaveLength(13);
    const tall = padToSquare(
      ramp(1, 3, (_, y) => y + 1),
      1,
      3,
    );
    expect(Array.from(tall.data)).toEqual([1, 1, 1, 1, 2, 1, 1, 3, 1]);
  });

  test('percentiles by rank floor(q (n - 1)); blank slice gives zeros', () => {
    const sorted = Float64Array.from({ length: 201 }, (_, i) => i);
    expect(rankValue(sorted, 0.005)).toBe(1);
    expect(rankValue(sorted, 0.995)).toBe(199);
    const u = robustUnit(
      Float64Array.from({ length: 201 }, (_, i) => 200 - i),
      0.5,
      99.5,
    );
    expect(u[0]).toBe(1); // 200 clipped
    expect(u[200]).toBe(0); // 0 clipped
    expect(u[100]).toBeCloseTo(0.5, 12);
    expect(Array.from(robustUnit(new Float64Array(9).fill(3), 0.5, 99.5))).toEqual(new Array(9).fill(0));
  });

  test('rescale slope/intercept and BT.601 luma', () => {
    expect(Array.from(toLuma({ data: [1, 2], width: 2, height: 1, slope: 2, intercept: -1024 }))).toEqual([
      -1022, -1020,
    ]);
    const rgb = toLuma({ data: [255, 0, 0, 0, 255, 0, 0, 0, 255], width: 3, height: 1, channels: 3 });
    expect(Array.from(rgb)).toEqual([0.299 * 255, 0.587 * 255, 0.114 * 255]);
    expect(() => toLuma({ data: [1, 2, 3], width: 2, height: 2 })).toThrow(/too short/);
  });

  test('MONOCHROME1 gives the inverted image of MONOCHROME2', () => {
    const data = ramp(20, 12, (x, y) => (x * y) % 37);
    const normal = preprocess({ data, width: 20, height: 12 }, SPEC);
    const inverted = preprocess({ data: data.map((v) => 36 - v), width: 20, height: 12, monochrome1: true }, SPEC);
    for (let i = 0; i < normal.length; i++) expect(inverted[i]).toBeCloseTo(normal[i], 6);
  });

  test('output is NHWC with mean/std applied and channel copies', () => {
    const out = preprocess({ data: ramp(30, 30), width: 30, height: 30 }, { ...SPEC, channels: 3, mean: 0, std: 1 });
    expect(out).toHaveLength(16 * 16 * 3);
    expect(Math.min(...out)).toBe(0);
    expect(Math.max(...out)).toBe(1);
    expect([out[3 * 40], out[3 * 40 + 1], out[3 * 40 + 2]]).toEqual([out[3 * 40], out[3 * 40], out[3 * 40]]);
  });

  test('unsupported spec versions and steps are refused', () => {
    expect(() => checkSpec({ ...SPEC, version: 2 })).toThrow(/version 2/);
    expect(() => checkSpec({ ...SPEC, resize: 'bicubic' })).toThrow(/resize=bicubic/);
  });
});
