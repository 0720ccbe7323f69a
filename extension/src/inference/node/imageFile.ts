/**
 * Node only: reading image files into raw slices (JPEG, PNG, DICOM), shared by the Node evaluator and the tests.
 * JPEG and PNG use pure-JS decoders (jpeg-js, pngjs); DICOM goes through the inference module's own reader.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { readDicom, type DicomSlice } from '../dicomFile';
import type { RawSlice } from '../types';

/** File extensions read as DICOM ('' too: PACS exports often have none). */
export const DICOM_EXTENSIONS: ReadonlySet<string> = new Set(['.dcm', '.dicom', '']);
/** File extensions read as JPEG or PNG. */
export const RASTER_EXTENSIONS: ReadonlySet<string> = new Set(['.jpg', '.jpeg', '.png']);

function isDicomBytes(bytes: Uint8Array): boolean {
  return bytes.length > 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
}

/** A decoded JPEG whose three channels are equal is grayscale (jpeg-js expands 1-component JPEGs to RGB). */
function grayIfEqual(rgb: Uint8Array, width: number, height: number): RawSlice {
  const n = width * height;
  for (let i = 0; i < n; i++) {
    if (rgb[3 * i] !== rgb[3 * i + 1] || rgb[3 * i] !== rgb[3 * i + 2])
      return { data: rgb, width, height, channels: 3 };
  }
  const gray = new Uint8Array(n);
  for (let i = 0; i < n; i++) gray[i] = rgb[3 * i];
  return { data: gray, width, height, channels: 1 };
}

export function decodeJpeg(bytes: Uint8Array): RawSlice {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512 });
  return grayIfEqual(img.data as Uint8Array, img.width, img.height);
}

export function decodePng(bytes: Uint8Array): RawSlice {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  // pngjs gives RGBA; 16-bit data comes as a Uint16Array when not rescaled.
  const rgba = png.data as unknown as ArrayLike<number>;
  const n = png.width * png.height;
  const gray = png.colorType === 0 || png.colorType === 4;
  if (gray) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = rgba[4 * i];
    return { data: out, width: png.width, height: png.height, channels: 1 };
  }
  return { data: rgba, width: png.width, height: png.height, channels: 4 };
}

/** A slice read from a file: DICOM slices carry their frame's attributes (for the metadata gate), JPEG/PNG none. */
export type FileSlice = RawSlice &
  Partial<Pick<DicomSlice, 'attributes' | 'frame' | 'position' | 'instanceNumber' | 'seriesInstanceUid'>>;

/**
 * Every slice of a file (several for a multi-frame DICOM; every DICOM transfer syntax readDicom supports);
 * throws with a reason when it can't be read.
 */
export async function readSlices(file: string): Promise<FileSlice[]> {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return [decodeJpeg(bytes)];
  if (ext === '.png') return [decodePng(bytes)];
  if (DICOM_EXTENSIONS.has(ext) || isDicomBytes(bytes)) return readDicom(bytes);
  throw new Error('unsupported file type (JPEG, PNG or DICOM)');
}
