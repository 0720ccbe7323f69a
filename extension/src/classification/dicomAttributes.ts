/**
 * The DICOM attributes the model card's metadata gate checks, from an OHIF instance (naturalized DICOM: keyword
 * keys, as OHIF's metadata store and `metaData.get('instance', imageId)` give it). Pure: tested in Node.
 * Enhanced (multi-frame) objects carry the plane orientation per frame in the functional groups: the frame's own
 * (Per-frame Functional Groups), else the shared one, else the top-level Image Orientation (Patient).
 */
import type { DicomAttributes } from '../inference/inRange';

type Naturalized = Record<string, unknown>;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v.trim() : Array.isArray(v) && typeof v[0] === 'string' ? String(v[0]).trim() : undefined;

function num(v: unknown): number | undefined {
  const n = Array.isArray(v) ? Number(v[0]) : typeof v === 'string' || typeof v === 'number' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

function numbers(v: unknown): number[] | undefined {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : null;
  if (!list) return undefined;
  const out = list.map(Number);
  return out.length === 6 && out.every(Number.isFinite) ? out : undefined;
}

function spacing(v: unknown): number[] | undefined {
  const list = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\\') : typeof v === 'number' ? [v] : null;
  if (!list) return undefined;
  const out = list.map(Number);
  return out.length >= 1 && out.every((x) => Number.isFinite(x) && x > 0) ? out : undefined;
}

function strings(v: unknown): string[] | undefined {
  if (Array.isArray(v)) return v.map((x) => String(x).trim().toUpperCase());
  if (typeof v === 'string') return v.split('\\').map((x) => x.trim().toUpperCase());
  return undefined;
}

const first = (v: unknown): Naturalized | undefined =>
  Array.isArray(v) ? (v[0] as Naturalized | undefined) : v && typeof v === 'object' ? (v as Naturalized) : undefined;

function orientationFrom(group: Naturalized | undefined): number[] | undefined {
  return numbers(first(group?.PlaneOrientationSequence)?.ImageOrientationPatient);
}

export function dicomAttributes(instance: Naturalized | null | undefined, frame = 0): DicomAttributes | null {
  if (!instance) return null;
  const perFrame = Array.isArray(instance.PerFrameFunctionalGroupsSequence)
    ? (instance.PerFrameFunctionalGroupsSequence[frame] as Naturalized | undefined)
    : undefined;
  const shared = first(instance.SharedFunctionalGroupsSequence);
  const frameType =
    strings(first(perFrame?.MRImageFrameTypeSequence)?.FrameType) ??
    strings(first(shared?.MRImageFrameTypeSequence)?.FrameType);
  const attributes: DicomAttributes = {
    Modality: str(instance.Modality)?.toUpperCase(),
    SOPClassUID: str(instance.SOPClassUID),
    ImageType: strings(instance.ImageType),
    FrameType: frameType,
    ImageOrientationPatient:
      orientationFrom(perFrame) ?? orientationFrom(shared) ?? numbers(instance.ImageOrientationPatient),
    PhotometricInterpretation: str(instance.PhotometricInterpretation)?.toUpperCase(),
    SamplesPerPixel: num(instance.SamplesPerPixel),
    SeriesDescription: str(instance.SeriesDescription),
    // Siemens private Number of Images in Mosaic (0019,100A), when the metadata carries private tags.
    NumberOfImagesInMosaic: num(instance['0019100A'] ?? instance['0019100a'] ?? instance.NumberOfImagesInMosaic),
    ScanningSequence: strings(instance.ScanningSequence),
    EchoPlanarPulseSequence: str(instance.EchoPlanarPulseSequence)?.toUpperCase(),
    PixelSpacing:
      spacing(first(perFrame?.PixelMeasuresSequence)?.PixelSpacing) ??
      spacing(first(shared?.PixelMeasuresSequence)?.PixelSpacing) ??
      spacing(instance.PixelSpacing),
  };
  for (const key of Object.keys(attributes) as (keyof DicomAttributes)[])
    if (attributes[key] === undefined) delete attributes[key];
  return attributes;
}
