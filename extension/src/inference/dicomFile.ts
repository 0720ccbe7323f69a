/**
 * Reading DICOM slices with dicom-parser, shared by the Node tools (evaluator, series benchmark) and the panel's
 * file drop. Every frame comes with the attributes the metadata gate reads (inRange.ts).
 *
 * Pixel data: native little/big endian, deflated (pako), RLE, JPEG baseline 8-bit, JPEG lossless, JPEG-LS and
 * JPEG 2000 (codecs.ts); signed/unsigned 8/16/32-bit; 1 or 3 samples (RGB, interleaved or planar); multi-frame.
 * As pydicom does: unsigned values are masked to Bits Stored (bits above it are not image data), signed values are
 * sign-extended from Bits Stored. The modality LUT is carried, not applied, and for enhanced multi-frame objects it
 * comes from each frame's Pixel Value Transformation functional group (per frame, else shared, else top level).
 *
 * `readDicom` (async) handles every syntax above. `readDicomSlices` (sync) handles those that need no codec
 * module (native, deflated, RLE) and says to use `readDicom` for the others.
 */
import * as dicomParser from 'dicom-parser';
import { inflateRaw } from 'pako';

import { RLE, SYNTAX_NAMES, decodeFrame, decodeRle, isSupportedCompressed, type FrameLayout } from './codecs';
import type { FrameAttributes } from './inRange';
import type { PixelArray, RawSlice } from './types';

export class DicomReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DicomReadError';
  }
}

export interface DicomSlice extends RawSlice {
  frame: number;
  photometric: string;
  /** What the metadata gate reads, for this frame. */
  attributes: FrameAttributes;
  /** Image Position (Patient) of this frame, when known (for ordering a series). */
  position?: number[];
  instanceNumber?: number;
  sopInstanceUid?: string;
  seriesInstanceUid?: string;
}

const NATIVE_SYNTAXES: Record<string, 'little' | 'big'> = {
  '1.2.840.10008.1.2': 'little', // implicit VR little endian
  '1.2.840.10008.1.2.1': 'little', // explicit VR little endian
  '1.2.840.10008.1.2.1.99': 'little', // deflated explicit VR little endian (inflated while parsing)
  '1.2.840.10008.1.2.2': 'big', // explicit VR big endian (retired, still found)
};

/** dicom-parser's inflater hook: header bytes as they are, the rest inflated (raw deflate, PS3.5 A.5). */
function inflater(byteArray: Uint8Array, position: number): Uint8Array {
  let inflated: Uint8Array;
  try {
    inflated = inflateRaw(byteArray.subarray(position));
  } catch (e) {
    throw new DicomReadError(`deflated data set can't be inflated (${String((e as Error)?.message ?? e)})`);
  }
  const full = new Uint8Array(position + inflated.length);
  full.set(byteArray.subarray(0, position), 0);
  full.set(inflated, position);
  return full;
}

function parse(bytes: Uint8Array): dicomParser.DataSet {
  try {
    return dicomParser.parseDicom(bytes, { inflater } as dicomParser.ParseDicomOptions);
  } catch (e) {
    if (e instanceof DicomReadError) throw e;
    const message =
      e instanceof Error
        ? e.message
        : typeof e === 'string'
          ? e
          : ((e as { exception?: string })?.exception ?? String(e));
    throw new DicomReadError(`not a readable DICOM file (${message})`);
  }
}

function typedPixels(buf: ArrayBuffer, bits: number, signed: boolean): PixelArray {
  if (bits === 8) return signed ? new Int8Array(buf) : new Uint8Array(buf);
  if (bits === 16) return signed ? new Int16Array(buf) : new Uint16Array(buf);
  if (bits === 32) return signed ? new Int32Array(buf) : new Uint32Array(buf);
  throw new DicomReadError(`BitsAllocated ${bits} is not supported (8, 16 or 32)`);
}

/** Copy of `length` bytes at `offset`, byte-swapped to the platform's little endian when the file is big endian. */
function frameBuffer(
  src: Uint8Array,
  offset: number,
  length: number,
  bytesPerSample: number,
  bigEndian: boolean,
): ArrayBuffer {
  if (offset + length > src.length) throw new DicomReadError('pixel data is shorter than Rows x Columns x frames');
  const out = src.slice(offset, offset + length);
  if (bigEndian && bytesPerSample > 1) {
    for (let i = 0; i < out.length; i += bytesPerSample) {
      for (let a = i, b = i + bytesPerSample - 1; a < b; a++, b--) {
        const t = out[a];
        out[a] = out[b];
        out[b] = t;
      }
    }
  }
  return out.buffer;
}

/**
 * Values as pydicom gives them: signed data sign-extended from Bits Stored, unsigned data masked to Bits Stored
 * (bits above it may hold overlays or garbage, not image data).
 */
export function fixBitsStored(
  pixels: PixelArray,
  bitsStored: number,
  bitsAllocated: number,
  signed: boolean,
): PixelArray {
  if (!(bitsStored > 0) || bitsStored >= bitsAllocated) return pixels;
  if (signed) {
    const shift = 32 - bitsStored;
    for (let i = 0; i < pixels.length; i++) pixels[i] = (pixels[i] << shift) >> shift;
  } else {
    const mask = bitsStored >= 32 ? 0xffffffff : (1 << bitsStored) - 1;
    for (let i = 0; i < pixels.length; i++) pixels[i] = (pixels[i] & mask) >>> 0;
  }
  return pixels;
}

function planarToInterleaved(p: PixelArray, n: number): PixelArray {
  const out = new (p.constructor as { new (n: number): PixelArray })(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = p[c * n + i];
  return out;
}

// ---- attributes -------------------------------------------------------------------------------------------

const str = (ds: dicomParser.DataSet | undefined, tag: string): string | undefined => {
  const v = ds?.string(tag);
  return v === undefined ? undefined : v.trim();
};

function numbers(ds: dicomParser.DataSet | undefined, tag: string): number[] | undefined {
  const v = str(ds, tag);
  if (!v) return undefined;
  const out = v.split('\\').map((x) => parseFloat(x));
  return out.every(Number.isFinite) ? out : undefined;
}

function firstItem(ds: dicomParser.DataSet | undefined, tag: string): dicomParser.DataSet | undefined {
  return ds?.elements[tag]?.items?.[0]?.dataSet;
}

/** A functional group macro of frame `f`: per-frame (5200,9230) first, then shared (5200,9229). */
function functionalGroup(ds: dicomParser.DataSet, f: number, macroTag: string): dicomParser.DataSet | undefined {
  const perFrame = ds.elements.x52009230?.items?.[f]?.dataSet;
  return firstItem(perFrame, macroTag) ?? firstItem(firstItem(ds, 'x52009229'), macroTag);
}

function imagesInMosaic(ds: dicomParser.DataSet): number | undefined {
  // Siemens private "SIEMENS MR HEADER" block at (0019,10xx): (0019,100A) Number of Images in Mosaic.
  if (!/SIEMENS MR HEADER/i.test(str(ds, 'x00190010') ?? '')) return undefined;
  const el = ds.elements.x0019100a;
  if (!el) return undefined;
  if (el.length === 2) return ds.uint16('x0019100a');
  const n = parseInt(str(ds, 'x0019100a') ?? '', 10);
  return Number.isFinite(n) ? n : undefined;
}

function frameAttributes(ds: dicomParser.DataSet, f: number, photometric: string, samples: number): FrameAttributes {
  let frameType: string[] | undefined;
  // Enhanced MR/CT/PET: the frame's own Frame Type (0008,9007), in the <modality> Image Frame Type macro.
  for (const macro of ['x00189226', 'x00189329', 'x00189751']) {
    const value = str(functionalGroup(ds, f, macro), 'x00089007');
    if (value) {
      frameType = value.split('\\').filter(Boolean);
      break;
    }
  }
  const orientation = numbers(functionalGroup(ds, f, 'x00209116'), 'x00200037') ?? numbers(ds, 'x00200037') ?? null;
  return {
    Modality: str(ds, 'x00080060'),
    SOPClassUID: str(ds, 'x00080016'),
    ImageType: (str(ds, 'x00080008') ?? '').split('\\').filter(Boolean),
    ...(frameType ? { FrameType: frameType } : {}),
    ImageOrientationPatient: orientation && orientation.length >= 6 ? orientation.slice(0, 6) : null,
    PhotometricInterpretation: photometric,
    SamplesPerPixel: samples,
    SeriesDescription: str(ds, 'x0008103e'),
    NumberOfImagesInMosaic: imagesInMosaic(ds),
    ScanningSequence: (str(ds, 'x00180020') ?? '').split('\\').filter(Boolean),
    EchoPlanarPulseSequence: str(ds, 'x00189018'),
    PixelSpacing: numbers(functionalGroup(ds, f, 'x00289110'), 'x00280030') ?? numbers(ds, 'x00280030'),
  };
}

function rescale(ds: dicomParser.DataSet, f: number): { slope: number; intercept: number } {
  const pvt = functionalGroup(ds, f, 'x00289145');
  const slopeText = str(pvt, 'x00281053') ?? str(ds, 'x00281053');
  const interceptText = str(pvt, 'x00281052') ?? str(ds, 'x00281052');
  const slope = slopeText === undefined ? 1 : parseFloat(slopeText);
  const intercept = interceptText === undefined ? 0 : parseFloat(interceptText);
  return {
    slope: Number.isFinite(slope) && slope !== 0 ? slope : 1,
    intercept: Number.isFinite(intercept) ? intercept : 0,
  };
}

// ---- header and frames ------------------------------------------------------------------------------------

interface Header {
  ds: dicomParser.DataSet;
  syntax: string;
  pixel: dicomParser.Element;
  layout: FrameLayout;
  bitsStored: number;
  planar: boolean;
  photometric: string;
  frames: number;
}

function header(bytes: Uint8Array): Header {
  const ds = parse(bytes);
  const syntax = str(ds, 'x00020010') ?? '1.2.840.10008.1.2';
  const pixel = ds.elements.x7fe00010;
  if (!pixel)
    throw new DicomReadError(
      `no pixel data (SOP class ${str(ds, 'x00080016') ?? '?'}, modality ${str(ds, 'x00080060') ?? '?'})`,
    );
  const rows = ds.uint16('x00280010') ?? 0;
  const cols = ds.uint16('x00280011') ?? 0;
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const samples = ds.uint16('x00280002') ?? 1;
  const planar = (ds.uint16('x00280006') ?? 0) === 1;
  const photometric = (str(ds, 'x00280004') ?? 'MONOCHROME2').toUpperCase();
  const frames = Math.max(1, parseInt(str(ds, 'x00280008') ?? '1', 10) || 1);
  if (!rows || !cols) throw new DicomReadError('Rows or Columns missing');
  if (bitsAllocated === 1) throw new DicomReadError('1-bit pixel data (overlays/masks) is not an image to classify');
  if (![8, 16, 32].includes(bitsAllocated))
    throw new DicomReadError(`BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32)`);
  if (samples !== 1 && samples !== 3) throw new DicomReadError(`SamplesPerPixel ${samples} is not supported`);
  if (samples === 1 && !photometric.startsWith('MONOCHROME')) {
    throw new DicomReadError(`photometric interpretation ${photometric} is not supported (palette colour?)`);
  }
  return {
    ds,
    syntax,
    pixel,
    layout: { rows, cols, samples, bitsAllocated, signed },
    bitsStored,
    planar,
    photometric,
    frames,
  };
}

/** The compressed bytes of frame `f` of encapsulated pixel data. */
function encapsulatedFrame(h: Header, f: number): Uint8Array {
  const { ds, pixel, frames } = h;
  const fragments = pixel.fragments ?? [];
  if (!fragments.length) throw new DicomReadError('encapsulated pixel data without fragments');
  try {
    if (frames === 1) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, 0, fragments.length);
    if (pixel.basicOffsetTable?.length) return dicomParser.readEncapsulatedImageFrame(ds, pixel, f);
    if (fragments.length === frames) return dicomParser.readEncapsulatedPixelDataFromFragments(ds, pixel, f, 1);
    if (h.syntax.startsWith('1.2.840.10008.1.2.4.')) {
      return dicomParser.readEncapsulatedImageFrame(ds, pixel, f, dicomParser.createJPEGBasicOffsetTable(ds, pixel));
    }
  } catch (e) {
    throw new DicomReadError(
      `frame ${f + 1} of the encapsulated pixel data can't be located (${String((e as Error)?.message ?? e)})`,
    );
  }
  throw new DicomReadError(
    `${frames} frames in ${fragments.length} fragments without an offset table: frames can't be located`,
  );
}

function slice(h: Header, f: number, bytes: ArrayBuffer): DicomSlice {
  const { ds, layout } = h;
  let pixels = typedPixels(bytes, layout.bitsAllocated, layout.signed);
  const n = layout.rows * layout.cols;
  if (pixels.length < n * layout.samples)
    throw new DicomReadError(`frame ${f + 1} decoded to ${pixels.length} samples, expected ${n * layout.samples}`);
  if (pixels.length > n * layout.samples) pixels = pixels.subarray(0, n * layout.samples) as PixelArray;
  pixels = fixBitsStored(pixels, h.bitsStored, layout.bitsAllocated, layout.signed);
  // Planar configuration describes native data; decoders (RLE here, JPEG family) give interleaved samples.
  if (layout.samples === 3 && h.planar && NATIVE_SYNTAXES[h.syntax]) pixels = planarToInterleaved(pixels, n);
  const position = numbers(functionalGroup(ds, f, 'x00209113'), 'x00200032') ?? numbers(ds, 'x00200032');
  const instance = parseInt(str(ds, 'x00200013') ?? '', 10);
  return {
    data: pixels,
    width: layout.cols,
    height: layout.rows,
    channels: layout.samples === 3 ? 3 : 1,
    ...rescale(ds, f),
    monochrome1: h.photometric === 'MONOCHROME1',
    frame: f,
    photometric: h.photometric,
    attributes: frameAttributes(ds, f, h.photometric, layout.samples),
    position: position && position.length >= 3 ? position.slice(0, 3) : undefined,
    instanceNumber: Number.isFinite(instance) ? instance : undefined,
    sopInstanceUid: str(ds, 'x00080018'),
    seriesInstanceUid: str(ds, 'x0020000e'),
  };
}

function checkColour(h: Header): void {
  if (h.layout.samples === 3 && !['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_RCT', 'YBR_ICT'].includes(h.photometric)) {
    throw new DicomReadError(`colour photometric interpretation ${h.photometric} is not supported`);
  }
  if (h.layout.samples === 3 && h.photometric !== 'RGB' && NATIVE_SYNTAXES[h.syntax]) {
    throw new DicomReadError(
      `colour photometric interpretation ${h.photometric} in native data is not supported (RGB only)`,
    );
  }
}

function nativeSlices(h: Header): DicomSlice[] {
  const bytesPerSample = h.layout.bitsAllocated / 8;
  const frameBytes = h.layout.rows * h.layout.cols * h.layout.samples * bytesPerSample;
  const out: DicomSlice[] = [];
  for (let f = 0; f < h.frames; f++) {
    const buf = frameBuffer(
      h.ds.byteArray,
      h.pixel.dataOffset + f * frameBytes,
      frameBytes,
      bytesPerSample,
      NATIVE_SYNTAXES[h.syntax] === 'big',
    );
    out.push(slice(h, f, buf));
  }
  return out;
}

function unsupported(syntax: string): DicomReadError {
  const name = SYNTAX_NAMES[syntax];
  return new DicomReadError(`transfer syntax ${syntax}${name ? ` (${name})` : ''} is not supported`);
}

/** The attributes of every frame, without decoding pixels (for gating a whole file cheaply). */
export function readDicomAttributes(bytes: Uint8Array): FrameAttributes[] {
  const h = header(bytes);
  return Array.from({ length: h.frames }, (_, f) => frameAttributes(h.ds, f, h.photometric, h.layout.samples));
}

/** All frames of a DICOM file, every supported transfer syntax (native, deflated, RLE, JPEG family). */
export async function readDicom(bytes: Uint8Array): Promise<DicomSlice[]> {
  const h = header(bytes);
  checkColour(h);
  const encapsulated = Boolean(h.pixel.encapsulatedPixelData);
  if (!encapsulated) {
    if (!NATIVE_SYNTAXES[h.syntax]) throw unsupported(h.syntax);
    return nativeSlices(h);
  }
  if (!isSupportedCompressed(h.syntax)) throw unsupported(h.syntax);
  const out: DicomSlice[] = [];
  for (let f = 0; f < h.frames; f++) {
    let decoded: Uint8Array;
    try {
      decoded = await decodeFrame(h.syntax, encapsulatedFrame(h, f), h.layout);
    } catch (e) {
      if (e instanceof DicomReadError) throw e;
      const name = SYNTAX_NAMES[h.syntax] ?? h.syntax;
      throw new DicomReadError(`${name} frame ${f + 1} can't be decoded (${String((e as Error)?.message ?? e)})`);
    }
    // Aligned copy: typed views need an offset that is a multiple of the sample size.
    out.push(
      slice(
        h,
        f,
        decoded.byteOffset % 4 === 0 && decoded.byteLength === decoded.buffer.byteLength
          ? (decoded.buffer as ArrayBuffer)
          : decoded.slice().buffer,
      ),
    );
  }
  return out;
}

/**
 * Synchronous reading for syntaxes that need no codec module: native, deflated, RLE. Other compressed syntaxes
 * throw a DicomReadError that says to use `readDicom`.
 */
export function readDicomSlices(bytes: Uint8Array): DicomSlice[] {
  const h = header(bytes);
  checkColour(h);
  if (!h.pixel.encapsulatedPixelData) {
    if (!NATIVE_SYNTAXES[h.syntax]) throw unsupported(h.syntax);
    return nativeSlices(h);
  }
  if (h.syntax === RLE) {
    return Array.from({ length: h.frames }, (_, f) => {
      let decoded: Uint8Array;
      try {
        decoded = decodeRle(encapsulatedFrame(h, f), h.layout);
      } catch (e) {
        if (e instanceof DicomReadError) throw e;
        throw new DicomReadError(`RLE frame ${f + 1} can't be decoded (${(e as Error).message})`);
      }
      return slice(h, f, decoded.buffer as ArrayBuffer);
    });
  }
  if (isSupportedCompressed(h.syntax)) {
    throw new DicomReadError(
      `transfer syntax ${h.syntax} (${SYNTAX_NAMES[h.syntax]}) needs the asynchronous reader (readDicom)`,
    );
  }
  throw unsupported(h.syntax);
}
