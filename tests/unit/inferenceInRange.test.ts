/** Issue 15: the metadata gate (inRange.ts) and the series summary rule (seriesSummary.ts), pure functions. */
import {
  DEFAULT_METADATA_RULE,
  angleFromAxial,
  metadataDecline,
  metadataGate,
  metadataRule,
  planeOf,
  type DicomAttributes,
} from '../../extension/src/inference/inRange';
import {
  formatSeriesSummary,
  shortReason,
  summariseSeries,
  type SeriesSlice,
} from '../../extension/src/inference/seriesSummary';
import { OUT_OF_RANGE_LABEL, type Classification } from '../../extension/src/inference/types';

const AXIAL = [1, 0, 0, 0, 1, 0];
const MR: DicomAttributes = {
  Modality: 'MR',
  SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
  ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'NONE'],
  ImageOrientationPatient: AXIAL,
  PhotometricInterpretation: 'MONOCHROME2',
  SamplesPerPixel: 1,
  SeriesDescription: 'AX T2 FSE',
};

/** Image Orientation (Patient) of an axial slice tilted by `deg` about the patient's left-right axis. */
const tilted = (deg: number): number[] => {
  const r = (deg * Math.PI) / 180;
  return [1, 0, 0, 0, Math.cos(r), -Math.sin(r)];
};

describe('metadataGate', () => {
  test('an axial MR slice is in range, also rotated in plane (Canon DWI) and oblique within 30°', () => {
    expect(metadataGate(MR)).toBeNull();
    expect(metadataGate({ ...MR, ImageOrientationPatient: [0.9399, 0.3414, 0, -0.3414, 0.9399, 0] })).toBeNull();
    expect(metadataGate({ ...MR, ImageOrientationPatient: tilted(29) })).toBeNull();
    expect(metadataGate({ ...MR, ImageOrientationPatient: tilted(31) })).toBe(
      'not an axial slice (axial, 31° from axial)',
    );
  });

  test('echo-planar and coarse-grid acquisitions are out of range: structural slices only', () => {
    const t2 = { ...MR, ScanningSequence: ['SE'], PixelSpacing: [0.43, 0.43] };
    expect(metadataGate(t2)).toBeNull();
    expect(metadataGate({ ...t2, ScanningSequence: ['SE', 'EP'] })).toMatch(
      /^an echo-planar image \(DWI, fMRI or perfusion\)/,
    );
    expect(metadataGate({ ...t2, ScanningSequence: undefined, EchoPlanarPulseSequence: 'YES' })).toMatch(
      /^an echo-planar image/,
    );
    expect(metadataGate({ ...t2, PixelSpacing: [1.5, 1.5] })).toBeNull();
    expect(metadataGate({ ...t2, PixelSpacing: [2.26, 2.26] })).toBe(
      'pixel spacing 2.26 mm, coarser than the 1.5 mm of the structural slices the model reads',
    );
    expect(metadataGate({ ...t2, PixelSpacing: [1.0, 1.875] })).toMatch(/^pixel spacing 1.88 mm/);
    expect(metadataGate({ ...t2, ImageType: ['DERIVED', 'PRIMARY', 'DIFFUSION', 'ADC'] })).toBe(
      'a diffusion image or map',
    );
    expect(metadataGate({ ...t2, PixelSpacing: [2.26, 2.26] }, { max_pixel_spacing_mm: 3 })).toBeNull();
    expect(() => metadataRule({ max_pixel_spacing_mm: 0 })).toThrow(/max_pixel_spacing_mm/);
  });

  test('planes: sagittal and coronal are named with their angle', () => {
    expect(metadataGate({ ...MR, ImageOrientationPatient: [0, 1, 0, 0, 0, -1] })).toBe(
      'not an axial slice (sagittal, 90° from axial)',
    );
    expect(metadataGate({ ...MR, ImageOrientationPatient: [1, 0, 0, 0, 0, -1] })).toBe(
      'not an axial slice (coronal, 90° from axial)',
    );
    // Philips ADNI MPRAGE, slightly oblique sagittal
    expect(metadataGate({ ...MR, ImageOrientationPatient: [-0.04, 1.0, -0.0, 0.06, 0.0, -1.0] })).toBe(
      'not an axial slice (sagittal, 87° from axial)',
    );
    expect(angleFromAxial(AXIAL)).toBe(0);
    expect(planeOf([1, 0, 0, 0, 0.3, -0.95])).toBe('coronal');
    expect(angleFromAxial([0, 0, 0, 0, 0, 0])).toBeNull();
  });

  test('missing orientation is allowed (the feature gate decides); so is a missing modality', () => {
    expect(metadataGate({ ...MR, ImageOrientationPatient: undefined })).toBeNull();
    expect(metadataGate({ ...MR, ImageOrientationPatient: null })).toBeNull();
    expect(metadataGate({ ImageOrientationPatient: AXIAL })).toBeNull();
    expect(metadataGate({})).toBeNull();
  });

  test('modality, non-image objects, colour', () => {
    expect(metadataGate({ ...MR, Modality: 'CT', SOPClassUID: '1.2.840.10008.5.1.4.1.1.2' })).toBe('not MR (CT)');
    expect(metadataGate({ Modality: 'SR', SOPClassUID: '1.2.840.10008.5.1.4.1.1.88.22' })).toBe('not an image (SR)');
    expect(metadataGate({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.11.1' })).toBe('not an image (PR)');
    expect(metadataGate({ ...MR, PhotometricInterpretation: 'RGB', SamplesPerPixel: 3 })).toBe('a colour image (RGB)');
    expect(metadataGate({ ...MR, PhotometricInterpretation: 'PALETTE COLOR' })).toBe('a colour image (PALETTE COLOR)');
    expect(metadataGate({ ...MR, PhotometricInterpretation: 'MONOCHROME1' })).toBeNull();
  });

  test('localisers and mosaics, by Image Type, Frame Type, private tag or series description', () => {
    expect(metadataGate({ ...MR, ImageType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER'] })).toBe('a localiser image');
    expect(
      metadataGate({
        ...MR,
        ImageType: ['DERIVED', 'PRIMARY'],
        FrameType: ['ORIGINAL', 'PRIMARY', 'LOCALIZER', 'NONE'],
      }),
    ).toBe('a localiser image');
    expect(metadataGate({ ...MR, ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'ND', 'MOSAIC'] })).toBe(
      'a mosaic of many slices',
    );
    expect(metadataGate({ ...MR, ImageType: ['ORIGINAL', 'PRIMARY', 'M', 'VFRAME'] })).toBe('a mosaic of many slices');
    expect(metadataGate({ ...MR, NumberOfImagesInMosaic: 35 })).toBe('a mosaic of many slices (35 tiles)');
    expect(metadataGate({ ...MR, NumberOfImagesInMosaic: 1 })).toBeNull();
    expect(
      metadataGate({ ...MR, ImageType: ['ORIGINAL', 'PRIMARY', 'OTHER'], SeriesDescription: '3-Plane Localizer' }),
    ).toBe("a localiser image (series '3-Plane Localizer')");
    expect(metadataGate({ ...MR, SeriesDescription: 'AAHead_Scout' })).toBe(
      "a localiser image (series 'AAHead_Scout')",
    );
    expect(metadataGate({ ...MR, ImageType: ['DERIVED', 'SECONDARY', 'PROJECTION IMAGE'] })).toBe(
      'a projection image (MIP)',
    );
    // An axial MPR reformat is a fair axial slice.
    expect(metadataGate({ ...MR, ImageType: ['DERIVED', 'SECONDARY', 'MPR'] })).toBeNull();
  });

  test("the card's rule: defaults for missing keys, a stricter angle, malformed rules refused", () => {
    expect(metadataGate({ ...MR, ImageOrientationPatient: tilted(20) }, { max_angle_from_axial_deg: 15 })).toBe(
      'not an axial slice (axial, 20° from axial)',
    );
    expect(metadataGate({ ...MR, Modality: 'CT' }, { modalities: ['MR', 'CT'] })).toBeNull();
    expect(metadataGate({ ...MR, Modality: 'CT' }, null)).toBe('not MR (CT)');
    expect(metadataRule({ notes: 'free text' } as never)).toMatchObject(DEFAULT_METADATA_RULE);
    expect(() => metadataRule({ max_angle_from_axial_deg: 120 })).toThrow(/0..90/);
    expect(() => metadataRule({ modalities: 'MR' as unknown as string[] })).toThrow(/list of strings/);
    expect(
      metadataDecline({ in_range: { metadata: { max_angle_from_axial_deg: 30 } } }, { ...MR, Modality: 'US' }),
    ).toEqual({ stage: 'metadata', reason: 'not MR (US)' });
    expect(metadataDecline(null, MR)).toBeNull();
  });
});

const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'];

function called(label: string): Classification {
  const index = CLASSES.indexOf(label);
  const probabilities = CLASSES.map((_, i) => (i === index ? 0.9 : 0.1 / 3));
  return {
    probabilities,
    classes: CLASSES,
    top: { label, probability: 0.9, index },
    outOfRange: null,
    modelVersion: 'v',
    backend: 'cpu',
    ms: 1,
  };
}

function declined(reason: string, stage: 'metadata' | 'features' = 'metadata'): Classification {
  return {
    probabilities: [],
    classes: CLASSES,
    top: { label: OUT_OF_RANGE_LABEL, probability: 0, index: -1 },
    outOfRange: { stage, reason },
    modelVersion: 'v',
    backend: 'cpu',
    ms: 0,
  };
}

const series = (items: (Classification | string | null)[]): SeriesSlice[] =>
  items.map((c, index) =>
    typeof c === 'string' ? { index, classification: null, error: c } : { index, classification: c },
  );

describe('series summary', () => {
  test('counts per outcome, declined by reason, a tumour run with its slices', () => {
    const s = summariseSeries(
      series([
        declined('not an axial slice (sagittal, 90° from axial)'),
        declined('not an axial slice (coronal, 88° from axial)'),
        called('notumor'),
        called('notumor'),
        called('notumor'),
        called('meningioma'),
        called('meningioma'),
        called('meningioma'),
        called('notumor'),
        declined('unlike the images the model was trained on (feature score 900 > 700)', 'features'),
      ]),
    );
    expect(s).toMatchObject({
      slices: 10,
      inRange: 7,
      declined: 3,
      unreadable: 0,
      tumourSlices: 3,
      claimsTumour: true,
    });
    expect(s.declinedByReason).toEqual({ 'not an axial slice': 2, 'unlike the images the model was trained on': 1 });
    expect(s.calls).toEqual({ glioma: 0, meningioma: 3, notumor: 4, pituitary: 0 });
    expect(s.runs).toEqual([{ label: 'meningioma', from: 6, to: 8, count: 3, isolated: false }]);
    expect(formatSeriesSummary(s)).toBe(
      '10 slices: 3 declined (2 not an axial slice, 1 unlike the images the model was trained on), 4 no tumour, 3 meningioma (slices 6–8)',
    );
  });

  test('an isolated one-slice call does not make the series claim a tumour', () => {
    const s = summariseSeries(
      series([called('notumor'), called('glioma'), called('notumor'), called('pituitary'), called('notumor')]),
    );
    expect(s.claimsTumour).toBe(false);
    expect(s.tumourSlices).toBe(2);
    expect(s.runs.every((r) => r.isolated)).toBe(true);
    expect(formatSeriesSummary(s)).toBe(
      '5 slices: 3 no tumour, 1 glioma (slice 2, isolated), 1 pituitary (slice 4, isolated)',
    );
  });

  test('adjacency: two different tumour classes, or a declined slice between, are not a run', () => {
    expect(summariseSeries(series([called('glioma'), called('meningioma')])).claimsTumour).toBe(false);
    expect(
      summariseSeries(series([called('glioma'), declined('a localiser image'), called('glioma')])).claimsTumour,
    ).toBe(false);
    expect(summariseSeries(series([called('glioma'), 'unreadable: truncated', called('glioma')])).claimsTumour).toBe(
      false,
    );
    // Indices, not list order, decide adjacency.
    const gap: SeriesSlice[] = [
      { index: 4, classification: called('glioma') },
      { index: 2, classification: called('glioma') },
    ];
    expect(summariseSeries(gap).claimsTumour).toBe(false);
    const s = summariseSeries([
      { index: 3, classification: called('glioma') },
      { index: 2, classification: called('glioma') },
    ]);
    expect(s.runs).toEqual([{ label: 'glioma', from: 3, to: 4, count: 2, isolated: false }]);
  });

  test('unreadable and pending slices are counted, never called', () => {
    const s = summariseSeries(series(['transfer syntax 1.2.3 is not supported', null, called('notumor')]), {
      classes: CLASSES,
    });
    expect(s).toMatchObject({ slices: 3, unreadable: 1, pending: 1, inRange: 1, claimsTumour: false });
    expect(formatSeriesSummary(s)).toBe(
      '3 slices: 1 unreadable (transfer syntax 1.2.3 is not supported), 1 no tumour, 1 not classified',
    );
    expect(shortReason('a mosaic of many slices (35 tiles)')).toBe('a mosaic of many slices');
  });
});
