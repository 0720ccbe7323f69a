/**
 * The preprocessing of trainer/ssclnet/preprocess.py, step for step, driven by the spec read from the model card.
 * Arithmetic is float64 until the final float32 cast, as in Python; parity tests compare the two.
 * Steps: luma (BT.601) -> modality LUT -> MONOCHROME1 inversion -> centred pad to a square with the minimum ->
 * antialiased triangle resize -> rank-based robust min-max -> (x - mean) / std, `channels` copies, NHWC.
 */
import type { PreprocessSpec, RawSlice } from './types';

export const SPEC_VERSION = 1;
const LUMA = [0.299, 0.587, 0.114] as const;
const SUPPORTED = { fit: 'pad-square-min', resize: 'triangle-antialiased', color: 'luma-bt601' } as const;

export function checkSpec(spec: PreprocessSpec): void {
  if (spec.version !== SPEC_VERSION) {
    throw new Error(
      `preprocessing spec version ${spec.version} is not supported (this viewer implements ${SPEC_VERSION})`,
    );
  }
  for (const [key, value] of Object.entries(SUPPORTED)) {
    if (spec[key] !== undefined && spec[key] !== value) {
      throw new Error(`preprocessing step ${key}=${String(spec[key])} is not supported (expected ${value})`);
    }
  }
  if (!(spec.input_size >= 16) || !(spec.std > 0) || !(spec.low_percentile < spec.high_percentile)) {
    throw new Error('invalid preprocessing spec (input_size >= 16, std > 0, low < high percentile)');
  }
}

/** Grayscale float64 image with the modality LUT applied. */
export function toLuma(slice: RawSlice): Float64Array {
  const { width, height, data } = slice;
  const channels = slice.channels ?? 1;
  const n = width * height;
  if (!(width > 0 && height > 0)) throw new Error(`empty image (${width}x${height})`);
  if (![1, 3, 4].includes(channels)) throw new Error(`channels must be 1, 3 or 4, got ${channels}`);
  if (data.length < n * channels) {
    throw new Error(`pixel data too short: ${data.length} values for ${width}x${height}x${channels}`);
  }
  const out = new Float64Array(n);
  if (channels === 1) {
    for (let i = 0; i < n; i++) out[i] = data[i];
  } else {
    for (let i = 0; i < n; i++) {
      const o = i * channels;
      out[i] = data[o] * LUMA[0] + data[o + 1] * LUMA[1] + data[o + 2] * LUMA[2];
    }
  }
  const slope = slice.slope ?? 1;
  const intercept = slice.intercept ?? 0;
  if (slope !== 1 || intercept !== 0) {
    for (let i = 0; i < n; i++) out[i] = out[i] * slope + intercept;
  }
  return out;
}

function minMax(a: Float64Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i] < lo) lo = a[i];
    if (a[i] > hi) hi = a[i];
  }
  return [lo, hi];
}

export function invert(img: Float64Array): Float64Array {
  const [lo, hi] = minMax(img);
  return img.map((v) => lo + hi - v);
}

/** Centred square of side max(w, h), filled with the image minimum; the extra pixel goes bottom/right. */
export function padToSquare(img: Float64Array, width: number, height: number): { data: Float64Array; size: number } {
  if (width === height) return { data: img, size: width };
  const m = Math.max(width, height);
  const out = new Float64Array(m * m).fill(minMax(img)[0]);
  const top = Math.floor((m - height) / 2);
  const left = Math.floor((m - width) / 2);
  for (let y = 0; y < height; y++) out.set(img.subarray(y * width, (y + 1) * width), (top + y) * m + left);
  return { data: out, size: m };
}

/** Sparse rows of the antialiased triangle resampling matrix: for each output pixel, first index and weights. */
export interface ResampleRow {
  start: number;
  weights: Float64Array;
}

export function triangleWeights(inSize: number, outSize: number): ResampleRow[] {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1);
  const rows: ResampleRow[] = [];
  for (let i = 0; i < outSize; i++) {
    const center = (i + 0.5) * scale;
    const j0 = Math.max(0, Math.floor(center - support));
    const j1 = Math.min(inSize, Math.ceil(center + support));
    const w = new Float64Array(Math.max(0, j1 - j0));
    let sum = 0;
    for (let j = j0; j < j1; j++) {
      w[j - j0] = Math.max(0, 1 - Math.abs((j + 0.5 - center) / support));
      sum += w[j - j0];
    }
    if (sum > 0) for (let k = 0; k < w.length; k++) w[k] /= sum;
    rows.push({ start: j0, weights: w });
  }
  return rows;
}

/** W @ img @ W^T for a square image (rows first, as numpy evaluates it). */
export function resizeSquare(img: Float64Array, size: number, outSize: number): Float64Array {
  if (size === outSize) return img;
  const rows = triangleWeights(size, outSize);
  const tmp = new Float64Array(outSize * size); // (outSize, size): resampled along y
  for (let i = 0; i < outSize; i++) {
    const { start, weights } = rows[i];
    const dst = i * size;
    for (let k = 0; k < weights.length; k++) {
      const w = weights[k];
      if (w === 0) continue;
      const src = (start + k) * size;
      for (let x = 0; x < size; x++) tmp[dst + x] += w * img[src + x];
    }
  }
  const out = new Float64Array(outSize * outSize);
  for (let y = 0; y < outSize; y++) {
    const src = y * size;
    for (let j = 0; j < outSize; j++) {
      const { start, weights } = rows[j];
      let acc = 0;
      for (let k = 0; k < weights.length; k++) acc += weights[k] * tmp[src + start + k];
      out[y * outSize + j] = acc;
    }
  }
  return out;
}

/** Value at rank floor(q * (n - 1)) of the sorted values. */
export function rankValue(sorted: Float64Array, q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))];
}

export function robustUnit(img: Float64Array, lowPercentile: number, highPercentile: number): Float64Array {
  const sorted = Float64Array.from(img).sort();
  const lo = rankValue(sorted, lowPercentile / 100);
  const hi = rankValue(sorted, highPercentile / 100);
  if (hi - lo <= 1e-6) return new Float64Array(img.length);
  const range = hi - lo;
  return img.map((v) => Math.min(1, Math.max(0, (v - lo) / range)));
}

/** One slice -> float32 NHWC data of shape [input_size, input_size, channels]. */
export function preprocess(slice: RawSlice, spec: PreprocessSpec): Float32Array {
  checkSpec(spec);
  let img = toLuma(slice);
  if (slice.monochrome1) img = invert(img);
  const square = padToSquare(img, slice.width, slice.height);
  const s = spec.input_size;
  const unit = robustUnit(resizeSquare(square.data, square.size, s), spec.low_percentile, spec.high_percentile);
  const c = spec.channels;
  const out = new Float32Array(s * s * c);
  for (let i = 0; i < s * s; i++) {
    const v = (unit[i] - spec.mean) / spec.std;
    for (let k = 0; k < c; k++) out[i * c + k] = v;
  }
  return out;
}
