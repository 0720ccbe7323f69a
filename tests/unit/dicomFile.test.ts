/**
 * Issue 17 items 5-7: the DICOM reader shared by the Node tools and the panel's file drop.
 *  - synthetic files written by pydicom at test time (tests/fixtures/dicom-input/make_fixtures.py): bits above
 *    Bits Stored masked as pydicom does, RLE (grey, signed, RGB), deflated, enhanced MR per-frame rescale and
 *    orientation, a Siemens mosaic known only by its private tag;
 *  - every series of ../shared/data/dicom-real (skipped with a message when absent): every file decodes or is
 *    refused with a DicomReadError, every `load` row is decoded or declined with a reason, natively encoded files
 *    equal pydicom, and each compressed copy of the Siemens mosaic equals its uncompressed original.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import {
  DicomReadError,
  readDicom,
  readDicomAttributes,
  readDicomSlices,
  type DicomSlice,
} from '../../extension/src/inference/dicomFile';
import { metadataGate } from '../../extension/src/inference/inRange';
import { preprocess } from '../../extension/src/inference/preprocess';
import type { PreprocessSpec } from '../../extension/src/inference/types';
import { REPO, SHARED_DATA, python, readJson, tmpDir } from './inferenceFixtures';

const SPEC: PreprocessSpec = {
  input_size: 32,
  channels: 1,
  fit: 'pad-square-min',
  resize: 'triangle-antialiased',
  low_percentile: 0.5,
  high_percentile: 99.5,
  mean: 0.5,
  std: 0.25,
  color: 'luma-bt601',
  version: 1,
};

interface Reference {
  syntax: string;
  shape: number[];
  pixels: number[];
  slopes?: number[];
  intercepts?: number[];
  orientations?: number[][];
}

const read = (file: string): Uint8Array => new Uint8Array(fs.readFileSync(file));

describe('synthetic files (pydicom is the reference)', () => {
  let dir: string;
  let ref: Record<string, Reference>;

  beforeAll(() => {
    dir = tmpDir('dicom-input');
    python([path.join(REPO, 'tests', 'fixtures', 'dicom-input', 'make_fixtures.py'), dir]);
    ref = readJson(path.join(dir, 'expected.json'));
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const pixels = (slices: DicomSlice[]): number[] => slices.flatMap((s) => Array.from(s.data));

  test('unsigned data: bits above Bits Stored are masked, native and RLE (as pydicom)', async () => {
    for (const name of ['masked.dcm', 'masked-rle.dcm']) {
      const slices = await readDicom(read(path.join(dir, name)));
      expect(pixels(slices)).toEqual(ref[name].pixels);
      expect(Math.max(...pixels(slices))).toBeLessThan(4096);
    }
    // The sync reader gives the same (native and RLE need no codec module).
    expect(pixels(readDicomSlices(read(path.join(dir, 'masked.dcm'))))).toEqual(ref['masked.dcm'].pixels);
    expect(pixels(readDicomSlices(read(path.join(dir, 'masked-rle.dcm'))))).toEqual(ref['masked-rle.dcm'].pixels);
  });

  test('RLE signed and RGB, deflated: the same values as pydicom', async () => {
    for (const name of ['signed-rle.dcm', 'rgb-rle.dcm', 'deflated.dcm']) {
      const slices = await readDicom(read(path.join(dir, name)));
      expect([name, pixels(slices)]).toEqual([name, ref[name].pixels]);
    }
    const [rgb] = await readDicom(read(path.join(dir, 'rgb-rle.dcm')));
    expect(rgb.channels).toBe(3);
    expect(metadataGate(rgb.attributes)).toBe('a colour image (RGB)');
  });

  test('enhanced MR: per-frame rescale (a negative slope too) and per-frame orientation from the functional groups', async () => {
    const r = ref['enhanced.dcm'];
    const slices = await readDicom(read(path.join(dir, 'enhanced.dcm')));
    expect(slices).toHaveLength(3);
    expect(slices.map((s) => s.slope)).toEqual(r.slopes);
    expect(slices.map((s) => s.intercept)).toEqual(r.intercepts);
    expect(slices.map((s) => s.attributes.ImageOrientationPatient)).toEqual(r.orientations);
    expect(slices.map((s) => s.position?.[2])).toEqual([0, 5, 10]);
    expect(pixels(slices)).toEqual(r.pixels);
    expect(slices.map((s) => metadataGate(s.attributes))).toEqual([
      null,
      null,
      'not an axial slice (sagittal, 90° from axial)',
    ]);
    // The inverted frame (slope -1, intercept 4095) preprocesses to the negative of frame 2's stored image.
    const inverted = {
      ...slices[1],
      slope: 1,
      intercept: 0,
      data: Uint16Array.from(slices[1].data as Uint16Array, (v) => 4095 - v),
    };
    expect(Array.from(preprocess(slices[1], SPEC))).toEqual(Array.from(preprocess(inverted, SPEC)));
    expect(readDicomAttributes(read(path.join(dir, 'enhanced.dcm'))).map((a) => a.FrameType)).toEqual([
      ['ORIGINAL', 'PRIMARY', 'M', 'NONE'],
      ['ORIGINAL', 'PRIMARY', 'M', 'NONE'],
      ['ORIGINAL', 'PRIMARY', 'M', 'NONE'],
    ]);
  });

  test('a Siemens mosaic known only by (0019,100A) is declined', async () => {
    const [s] = await readDicom(read(path.join(dir, 'mosaic-private.dcm')));
    expect(s.attributes.NumberOfImagesInMosaic).toBe(16);
    expect(metadataGate(s.attributes)).toBe('a mosaic of many slices (16 tiles)');
  });

  test('broken input gives a DicomReadError with a reason, never a raw exception', async () => {
    const deflated = read(path.join(dir, 'deflated.dcm'));
    await expect(readDicom(deflated.slice(0, deflated.length - 40))).rejects.toThrow(DicomReadError);
    const rle = read(path.join(dir, 'masked-rle.dcm'));
    await expect(readDicom(rle.slice(0, rle.length - 200))).rejects.toThrow(DicomReadError);
    await expect(readDicom(new Uint8Array(300))).rejects.toThrow(/not a readable DICOM file/);
  });
});

const REAL = path.join(SHARED_DATA, 'dicom-real');
const haveReal = fs.existsSync(path.join(REAL, 'manifest.csv'));
if (!haveReal) console.warn(`skipping the dicom-real tests: ${REAL} is absent (read-only shared data, see README)`);

(haveReal ? describe : describe.skip)('../shared/data/dicom-real (every row)', () => {
  const rows = haveReal
    ? fs
        .readFileSync(path.join(REAL, 'manifest.csv'), 'utf8')
        .trim()
        .split('\n')
        .slice(1)
        .map((l) => ({ folder: l.split(',')[0], expected: l.split(',').pop()! }))
    : [];
  const decoded = new Map<string, DicomSlice[]>();
  let reference: Record<string, { frames: number; sums: number[]; samples: number[][] }>;

  beforeAll(async () => {
    reference = JSON.parse(
      python([path.join(REPO, 'tests', 'fixtures', 'dicom-input', 'reference.py'), REAL, ...rows.map((r) => r.folder)]),
    );
    for (const { folder } of rows) {
      for (const f of fs
        .readdirSync(path.join(REAL, folder))
        .filter((n) => n.endsWith('.dcm'))
        .sort()) {
        try {
          decoded.set(`${folder}/${f}`, await readDicom(read(path.join(REAL, folder, f))));
        } catch (e) {
          // Refusals must be DicomReadErrors with a reason; anything else is a crash.
          expect(e).toBeInstanceOf(DicomReadError);
          decoded.set(`${folder}/${f}`, []);
        }
      }
    }
  }, 300_000);

  test('every file of every row decodes (all transfer syntaxes of the set are supported)', () => {
    const failed = [...decoded].filter(([, s]) => !s.length).map(([k]) => k);
    expect(failed).toEqual([]);
  });

  test('every load row: each slice decoded, and declined with a reason or in range; mosaics and colour declined', () => {
    for (const { folder, expected } of rows.filter((r) => r.expected === 'load')) {
      const slices = [...decoded].filter(([k]) => k.startsWith(`${folder}/`)).flatMap(([, s]) => s);
      expect([folder, slices.length > 0]).toEqual([folder, true]);
      const reasons = new Set(slices.map((s) => metadataGate(s.attributes)));
      if (/mosaic/.test(folder)) expect([folder, [...reasons]]).toEqual([folder, ['a mosaic of many slices']]);
      if (/rgb/.test(folder)) expect([folder, [...reasons]]).toEqual([folder, ['a colour image (RGB)']]);
      if (/sag/.test(folder))
        expect([folder, [...reasons]]).toEqual([folder, [expect.stringMatching(/^not an axial slice \(sagittal/)]]);
      expect(expected).toBe('load');
    }
  });

  test('abstain rows that metadata can tell are declined by the metadata gate', () => {
    const byMetadata = [
      'canon-dwi-sag',
      'ge-phantom-localizer-3plane',
      'philips-t1-mprage-sag',
      'siemens-epi-cor-mosaic',
      'siemens-phantom-scout-mpr-cor',
      'siemens-phantom-scout-sag',
      'siemens-t1-fl2d-sag',
    ];
    for (const folder of byMetadata) {
      const slices = [...decoded].filter(([k]) => k.startsWith(`${folder}/`)).flatMap(([, s]) => s);
      const declined = slices.filter((s) => metadataGate(s.attributes) !== null).length;
      expect([folder, declined]).toEqual([folder, slices.length]);
    }
    // Axial healthy series that are not structural slices: declined by name (EPI; coarse grids of an fMRI and a field map).
    const why: Record<string, RegExp> = {
      'canon-dwi-ax': /^an echo-planar image/,
      'ge-b0map-mag-ax': /^pixel spacing 1.88 mm/,
      'philips-fmri-ax': /^pixel spacing 2.26 mm/,
    };
    for (const [folder, reason] of Object.entries(why)) {
      const slices = [...decoded].filter(([k]) => k.startsWith(`${folder}/`)).flatMap(([, s]) => s);
      expect(slices.length).toBeGreaterThan(0);
      for (const s of slices)
        expect([folder, metadataGate(s.attributes)]).toEqual([folder, expect.stringMatching(reason)]);
    }
  });

  test('natively encoded files: the same stored values as pydicom (masking, sign, big endian, deflate, multi-frame)', () => {
    expect(Object.keys(reference).length).toBeGreaterThan(100);
    for (const [file, r] of Object.entries(reference)) {
      const slices = decoded.get(file)!;
      expect([file, slices.length]).toEqual([file, r.frames]);
      slices.forEach((s, i) => {
        const data = Array.from(s.data);
        expect([file, i, data.reduce((a, b) => a + b, 0)]).toEqual([file, i, r.sums[i]]);
        expect([file, i, data.filter((_, k) => k % 101 === 0)]).toEqual([file, i, r.samples[i]]);
      });
    }
  });

  test('every compressed copy of the Siemens mosaic equals the uncompressed original (lossless) or is close (JPEG baseline)', () => {
    const original = decoded.get(
      'siemens-epi-mosaic-ax-explicit-le/' +
        fs.readdirSync(path.join(REAL, 'siemens-epi-mosaic-ax-explicit-le')).find((n) => n.endsWith('.dcm')),
    )![0];
    const lossless = [
      'big-endian',
      'deflate-transcoded',
      'implicit-le',
      'jpeg-lossless',
      'jpeg-lossless-gdcm',
      'jpeg2000',
      'jpegls',
      'jpegls-b',
      'rle',
    ];
    for (const variant of lossless) {
      const folder = `siemens-epi-mosaic-ax-${variant}`;
      const [s] = [...decoded].filter(([k]) => k.startsWith(`${folder}/`)).flatMap(([, x]) => x);
      expect([variant, s.width, s.height]).toEqual([variant, original.width, original.height]);
      expect([variant, Array.from(s.data).every((v, i) => v === original.data[i])]).toEqual([variant, true]);
    }
    const [jpeg] = [...decoded]
      .filter(([k]) => k.startsWith('siemens-epi-mosaic-ax-jpeg-baseline-transcoded/'))
      .flatMap(([, x]) => x);
    expect([jpeg.width, jpeg.height, jpeg.channels]).toEqual([original.width, original.height, 1]);
    // 8-bit lossy copy of the 12-bit image: the preprocessed tensors (robust min-max) stay close.
    const a = preprocess(jpeg, SPEC);
    const b = preprocess(original, SPEC);
    const mean = a.reduce((acc, v, i) => acc + Math.abs(v - b[i]), 0) / a.length;
    expect(mean).toBeLessThan(0.05);
  });

  test('enhanced multi-frame: one slice per frame with its own rescale (Philips 0.1 per frame)', () => {
    const philips = [...decoded].filter(([k]) => k.startsWith('philips-pcasl-ax-enhanced/')).flatMap(([, s]) => s);
    expect(philips).toHaveLength(40);
    expect(new Set(philips.map((s) => s.slope))).toEqual(new Set([0.1]));
    const canon = [...decoded].filter(([k]) => k.startsWith('canon-dwi-ax-enhanced/')).flatMap(([, s]) => s);
    expect(canon).toHaveLength(520);
    // Per-frame attributes reach the gate: Canon's DTI frames are declined as diffusion images (Image Type).
    expect(new Set(canon.map((s) => metadataGate(s.attributes)))).toEqual(new Set(['a diffusion image or map']));
  });
});
