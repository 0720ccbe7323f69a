/**
 * "Inside the model's range?" The metadata gate: pure checks on the DICOM attributes of one frame, run BEFORE any
 * inference wherever such attributes exist (the viewer's displayed images, dropped DICOM files, the Node tools).
 * Dropped JPG/PNG files have no metadata: only the feature gate (classifier.ts) applies to them.
 *
 * The rule comes from the model card (`in_range.metadata`, card_format 2); keys the card leaves out take the
 * defaults below, and cards without the block (card_format 1) get the defaults. What each check means:
 *  - modality must be one of `modalities` (default MR)                    -> "not MR (CT)"
 *  - the SOP class must be an image storage class (not SR, PR, KO, ...)    -> "not an image (SR)"
 *  - the photometric interpretation must be one of `photometric` and
 *    Samples per Pixel 1 (default MONOCHROME1/2)                           -> "a colour image (RGB)"
 *  - Image Type / Frame Type must hold none of `reject_image_types`        -> "a localiser image", "a mosaic of many slices", ...
 *    (Siemens mosaics are also recognised by the private Number of Images in Mosaic (0019,100A) > 1)
 *  - the series description must contain none of `reject_series_descriptions` (case-insensitive): GE's 3-plane
 *    localiser says so only there (Image Type ORIGINAL\PRIMARY\OTHER)      -> "a localiser image (series '3-Plane Localizer')"
 *  - the slice normal (row x column of Image Orientation (Patient); for enhanced multi-frame the frame's own, from
 *    the functional groups) must be within `max_angle_from_axial_deg` of the patient's S axis
 *                                                                          -> "not an axial slice (sagittal, 88° from axial)"
 *  - the acquisition must not be echo-planar: Scanning Sequence (0018,0020) holding a `reject_scanning_sequences`
 *    value (EP), or Echo Planar Pulse Sequence (0018,9018) YES in enhanced objects. DWI, fMRI and perfusion
 *    series are EPI: low resolution, distorted, with a contrast the model never learned
 *                                                                          -> "an echo-planar image (DWI, fMRI or perfusion)"
 *  - the in-plane pixel spacing (the larger of the two; the frame's own for enhanced objects) must be at most
 *    `max_pixel_spacing_mm`: structural T1/T2/FLAIR slices are reconstructed at ~0.4-1.2 mm, field maps, EPI and
 *    scouts at 1.6-4 mm                                                     -> "pixel spacing 2.3 mm, coarser than the 1.5 mm ..."
 * Keys a card leaves out take the defaults, so a card_format 1 model also gets the two checks above.
 * Missing orientation (secondary captures, some derived images) is allowed: the plane can't be known, so the
 * feature gate is the only check left. Missing modality is allowed likewise. `DERIVED\SECONDARY\MPR` is NOT
 * rejected: an axial reformat of a 3-D volume is a fair axial slice (the trainer uses such reslices), and a
 * non-axial reformat is caught by the orientation check.
 */

/**
 * The DICOM attributes of one frame that the gate reads, keyed by DICOM keyword (all optional: absent means
 * unknown). For enhanced multi-frame objects give the frame's own values, resolved from the functional groups
 * (per-frame, else shared): ImageOrientationPatient from the Plane Orientation macro, FrameType from the
 * MR Image Frame Type macro.
 */
export interface DicomAttributes {
  Modality?: string;
  SOPClassUID?: string;
  /** Image Type (0008,0008) values. */
  ImageType?: string[];
  /** Frame Type (0008,9007) of this frame (enhanced multi-frame). */
  FrameType?: string[];
  /** Row direction cosines then column direction cosines. */
  ImageOrientationPatient?: number[] | null;
  PhotometricInterpretation?: string;
  SamplesPerPixel?: number;
  SeriesDescription?: string;
  /** Siemens private (0019,100A) Number of Images in Mosaic, when present. */
  NumberOfImagesInMosaic?: number;
  /** Scanning Sequence (0018,0020) values, e.g. ['SE', 'EP']. */
  ScanningSequence?: string[];
  /** Echo Planar Pulse Sequence (0018,9018), enhanced MR: 'YES' or 'NO'. */
  EchoPlanarPulseSequence?: string;
  /** Pixel Spacing (0028,0030) in mm, row then column spacing; the frame's own (Pixel Measures) for enhanced objects. */
  PixelSpacing?: number[];
}

/** Older name kept for readability in the DICOM reader. */
export type FrameAttributes = DicomAttributes;

export interface MetadataRule {
  modalities: string[];
  max_angle_from_axial_deg: number;
  reject_image_types: string[];
  reject_series_descriptions: string[];
  photometric: string[];
  reject_scanning_sequences: string[];
  max_pixel_spacing_mm: number;
}

export const DEFAULT_METADATA_RULE: Readonly<MetadataRule> = Object.freeze({
  modalities: ['MR'],
  max_angle_from_axial_deg: 30,
  reject_image_types: [
    'LOCALIZER',
    'SCOUT',
    'MOSAIC',
    'VFRAME',
    'PROJECTION IMAGE',
    'DIFFUSION',
    'ADC',
    'TRACEW',
    'PERFUSION',
  ],
  reject_series_descriptions: ['localizer', 'localiser', 'scout', 'survey'],
  photometric: ['MONOCHROME1', 'MONOCHROME2'],
  reject_scanning_sequences: ['EP'],
  max_pixel_spacing_mm: 1.5,
});

/** The card's rule with defaults for the keys it leaves out; a malformed rule is refused (the model isn't used). */
export function metadataRule(cardRule?: Partial<MetadataRule> | null): MetadataRule {
  const rule = { ...DEFAULT_METADATA_RULE, ...(cardRule ?? {}) } as MetadataRule;
  const lists = [
    'modalities',
    'reject_image_types',
    'reject_series_descriptions',
    'photometric',
    'reject_scanning_sequences',
  ] as const;
  for (const k of lists) {
    if (!Array.isArray(rule[k]) || rule[k].some((v) => typeof v !== 'string'))
      throw new Error(`model card in_range.metadata.${k} must be a list of strings`);
  }
  const angle = rule.max_angle_from_axial_deg;
  if (typeof angle !== 'number' || !(angle >= 0 && angle <= 90))
    throw new Error('model card in_range.metadata.max_angle_from_axial_deg must be 0..90');
  const spacing = rule.max_pixel_spacing_mm;
  if (typeof spacing !== 'number' || !(spacing > 0))
    throw new Error('model card in_range.metadata.max_pixel_spacing_mm must be a positive number');
  return rule;
}

/** Storage SOP classes that hold no image to classify, by UID prefix, with the short name used in reasons. */
const NON_IMAGE_SOP: [string, string][] = [
  ['1.2.840.10008.5.1.4.1.1.88.', 'SR'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'PR'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'DOC'],
  ['1.2.840.10008.5.1.4.1.1.66', 'raw data, registration or segmentation'],
  ['1.2.840.10008.5.1.4.1.1.481.', 'RT'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'waveform'],
  ['1.2.840.10008.5.1.4.1.1.4.2', 'MR spectroscopy'],
  ['1.2.840.10008.5.1.4.1.1.4.3', 'MR spectroscopy'],
];

const IMAGE_TYPE_REASONS: Record<string, string> = {
  LOCALIZER: 'a localiser image',
  SCOUT: 'a localiser image',
  MOSAIC: 'a mosaic of many slices',
  VFRAME: 'a mosaic of many slices',
  'PROJECTION IMAGE': 'a projection image (MIP)',
  DIFFUSION: 'a diffusion image or map',
  ADC: 'a diffusion image or map',
  TRACEW: 'a diffusion image or map',
  PERFUSION: 'a perfusion image or map',
};

export type Plane = 'axial' | 'sagittal' | 'coronal';

/** Unit slice normal (row x column) of Image Orientation (Patient), or null when it is missing or degenerate. */
export function sliceNormal(orientation?: number[] | null): [number, number, number] | null {
  if (!orientation || orientation.length < 6 || orientation.some((v) => !Number.isFinite(v))) return null;
  const [rx, ry, rz, cx, cy, cz] = orientation;
  const n: [number, number, number] = [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
  const len = Math.hypot(...n);
  if (!(len > 1e-6)) return null;
  return [n[0] / len, n[1] / len, n[2] / len];
}

/** Angle in degrees between the slice normal and the patient's S (head-foot) axis: 0 = axial, 90 = sagittal/coronal. */
export function angleFromAxial(orientation?: number[] | null): number | null {
  const n = sliceNormal(orientation);
  if (!n) return null;
  return (Math.acos(Math.min(1, Math.abs(n[2]))) * 180) / Math.PI;
}

/** The nearest standard plane: the axis the normal is closest to (x -> sagittal, y -> coronal, z -> axial). */
export function planeOf(orientation?: number[] | null): Plane | null {
  const n = sliceNormal(orientation);
  if (!n) return null;
  const a = n.map(Math.abs);
  if (a[2] >= a[0] && a[2] >= a[1]) return 'axial';
  return a[0] >= a[1] ? 'sagittal' : 'coronal';
}

const upper = (s?: string): string => (s ?? '').trim().toUpperCase();

/**
 * null when the frame is inside the rule, otherwise the reason in plain words (shown as
 * "Outside the model's range: <reason>"). `rule` is the card's `in_range.metadata` (missing keys take the
 * defaults) or nothing (the defaults).
 */
export function metadataGate(attrs: DicomAttributes, rule?: Partial<MetadataRule> | null): string | null {
  const r = rule === DEFAULT_METADATA_RULE ? DEFAULT_METADATA_RULE : metadataRule(rule);
  const sop = (attrs.SOPClassUID ?? '').trim();
  const nonImage = NON_IMAGE_SOP.find(([prefix]) => sop.startsWith(prefix));
  if (nonImage) return `not an image (${upper(attrs.Modality) || nonImage[1]})`;
  const modality = upper(attrs.Modality);
  if (modality && !r.modalities.map(upper).includes(modality)) return `not ${r.modalities.join(' or ')} (${modality})`;
  const photometric = upper(attrs.PhotometricInterpretation);
  if ((attrs.SamplesPerPixel ?? 1) > 1 || (photometric && !r.photometric.map(upper).includes(photometric))) {
    return `a colour image (${photometric || `${attrs.SamplesPerPixel} samples per pixel`})`;
  }
  const types = [...(attrs.ImageType ?? []), ...(attrs.FrameType ?? [])].map(upper);
  const rejected = r.reject_image_types.map(upper);
  for (const t of rejected) {
    if (types.includes(t) || (t.includes('\\') && types.join('\\').includes(t)))
      return IMAGE_TYPE_REASONS[t] ?? `image type ${t}`;
  }
  if ((attrs.NumberOfImagesInMosaic ?? 0) > 1 && rejected.includes('MOSAIC')) {
    return `a mosaic of many slices (${attrs.NumberOfImagesInMosaic} tiles)`;
  }
  const description = (attrs.SeriesDescription ?? '').toLowerCase();
  if (r.reject_series_descriptions.some((m) => m && description.includes(m.toLowerCase()))) {
    return `a localiser image (series '${(attrs.SeriesDescription ?? '').trim()}')`;
  }
  const angle = angleFromAxial(attrs.ImageOrientationPatient);
  if (angle !== null && angle > r.max_angle_from_axial_deg) {
    return `not an axial slice (${planeOf(attrs.ImageOrientationPatient)}, ${Math.round(angle)}° from axial)`;
  }
  const sequences = (attrs.ScanningSequence ?? []).map(upper);
  if (
    r.reject_scanning_sequences.map(upper).some((q) => sequences.includes(q)) ||
    upper(attrs.EchoPlanarPulseSequence) === 'YES'
  ) {
    return 'an echo-planar image (DWI, fMRI or perfusion): the model reads structural slices such as T1 and T2';
  }
  const spacing = Math.max(...(attrs.PixelSpacing ?? []).filter((v) => Number.isFinite(v) && v > 0), 0);
  if (spacing > r.max_pixel_spacing_mm) {
    return `pixel spacing ${spacing.toFixed(2)} mm, coarser than the ${r.max_pixel_spacing_mm} mm of the structural slices the model reads`;
  }
  return null;
}

/** The gate's answer in the shape a Classification carries (`outOfRange`), for a card. */
export function metadataDecline(
  card: { in_range?: { metadata?: Partial<MetadataRule> | null } | null } | null | undefined,
  attrs: DicomAttributes,
): { stage: 'metadata'; reason: string } | null {
  const reason = metadataGate(attrs, card?.in_range?.metadata ?? null);
  return reason === null ? null : { stage: 'metadata', reason };
}
