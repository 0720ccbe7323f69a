/**
 * Reading DICOM slices with dicom-parser: native (uncompressed) pixel data, little or big endian,
 * signed/unsigned 8/16/32-bit, 1 or 3 samples (RGB, interleaved or planar), multi-frame. Compressed transfer
 * syntaxes are refused with a clear error (the viewer's Cornerstone decoders handle them on screen).
 */
import * as dicomParser from 'dicom-parser';

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
}

const NATIVE_SYNTAXES: Record<string, 'little' | 'big'> = {
  '1.2.840.10008.1.2': 'little', // implicit VR little endian
  '1.2.840.10008.1.2.1': 'little', // explicit VR little endian
  '1.2.840.10008.1.2.2': 'big', // explicit VR big endian (retired, still found)
};

function parse(bytes: Uint8Array): dicomParser.DataSet {
  try {
    return dicomParser.parseDicom(bytes);
  } catch (e) {
    const message = e instanceof Error ? e.message : typeof e === 'string' ? e : ((e as { exception?: string })?.exception ?? String(e));
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
function frameBuffer(src: Uint8Array, offset: number, length: number, bytesPerSample: number, bigEndian: boolean): ArrayBuffer {
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

/** Sign-extend values stored in fewer bits than allocated (e.g. 12 of 16) when PixelRepresentation is 1. */
function signExtend(pixels: PixelArray, bitsStored: number, bitsAllocated: number): PixelArray {
  if (bitsStored >= bitsAllocated) return pixels;
  const shift = 32 - bitsStored;
  for (let i = 0; i < pixels.length; i++) pixels[i] = ((pixels[i] << shift) >> shift);
  return pixels;
}

function planarToInterleaved(p: PixelArray, n: number): PixelArray {
  const out = new (p.constructor as { new (n: number): PixelArray })(n * 3);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = p[c * n + i];
  return out;
}

/** All frames of a DICOM file as raw slices (modality LUT and photometric carried, not applied). */
export function readDicomSlices(bytes: Uint8Array): DicomSlice[] {
  const ds = parse(bytes);
  const syntax = ds.string('x00020010')?.trim() ?? '1.2.840.10008.1.2';
  const pixelElement = ds.elements.x7fe00010;
  if (!pixelElement) throw new DicomReadError(`no pixel data (SOP class ${ds.string('x00080016') ?? '?'})`);
  const endian = NATIVE_SYNTAXES[syntax];
  if (!endian || pixelElement.encapsulatedPixelData) {
    throw new DicomReadError(`transfer syntax ${syntax} (compressed) is not supported here; use an uncompressed copy`);
  }
  const rows = ds.uint16('x00280010') ?? 0;
  const cols = ds.uint16('x00280011') ?? 0;
  const bitsAllocated = ds.uint16('x00280100') ?? 16;
  const bitsStored = ds.uint16('x00280101') ?? bitsAllocated;
  const signed = (ds.uint16('x00280103') ?? 0) === 1;
  const samples = ds.uint16('x00280002') ?? 1;
  const planar = (ds.uint16('x00280006') ?? 0) === 1;
  const photometric = (ds.string('x00280004') ?? 'MONOCHROME2').trim().toUpperCase();
  const frames = Math.max(1, parseInt(ds.string('x00280008') ?? '1', 10) || 1);
  if (!rows || !cols) throw new DicomReadError('Rows or Columns missing');
  if (bitsAllocated === 1) throw new DicomReadError('1-bit pixel data (overlays/masks) is not an image to classify');
  if (samples === 3 && photometric !== 'RGB') {
    throw new DicomReadError(`colour photometric interpretation ${photometric} is not supported (RGB only)`);
  }
  if (samples !== 1 && samples !== 3) throw new DicomReadError(`SamplesPerPixel ${samples} is not supported`);
  if (samples === 1 && !photometric.startsWith('MONOCHROME')) {
    throw new DicomReadError(`photometric interpretation ${photometric} is not supported (palette colour?)`);
  }
  const slope = parseFloat(ds.string('x00281053') ?? '1') || 1;
  const intercept = parseFloat(ds.string('x00281052') ?? '0') || 0;
  const bytesPerSample = bitsAllocated / 8;
  const frameBytes = rows * cols * samples * bytesPerSample;
  const out: DicomSlice[] = [];
  for (let f = 0; f < frames; f++) {
    const buf = frameBuffer(ds.byteArray, pixelElement.dataOffset + f * frameBytes, frameBytes, bytesPerSample, endian === 'big');
    let pixels = typedPixels(buf, bitsAllocated, signed);
    if (signed) pixels = signExtend(pixels, bitsStored, bitsAllocated);
    if (samples === 3 && planar) pixels = planarToInterleaved(pixels, rows * cols);
    out.push({
      data: pixels,
      width: cols,
      height: rows,
      channels: samples === 3 ? 3 : 1,
      slope,
      intercept,
      monochrome1: photometric === 'MONOCHROME1',
      frame: f,
      photometric,
    });
  }
  return out;
}
