/**
 * A local file dropped on the panel (the upload flow of the original SSCLNet apps), read inside the inference
 * engine (a Web Worker by default): DICOM with the inference module's reader (first frame, every supported
 * transfer syntax, with its attributes for the metadata gate), JPEG/PNG decoded by the browser to RGBA (luma
 * conversion happens in preprocessing; no metadata, so only the feature gate applies). The browser's JPEG decoder
 * may differ from PIL's by a grey level here and there.
 */
import { readDicom } from '../inference/dicomFile';
import type { DicomAttributes } from '../inference/inRange';
import type { RawSlice } from '../inference/types';
import { MAX_PIXELS, PixelPathError } from './pixelPath';

export function isDicom(name: string, bytes: Uint8Array): boolean {
  const magic = bytes.length > 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
  return magic || /\.(dcm|dicom)$/i.test(name);
}

/** A canvas to read decoded pixels from: an OffscreenCanvas (workers, modern browsers), else a DOM canvas. */
function canvas2d(width: number, height: number): OffscreenCanvasRenderingContext2D | CanvasRenderingContext2D | null {
  if (typeof OffscreenCanvas !== 'undefined') return new OffscreenCanvas(width, height).getContext('2d');
  if (typeof document === 'undefined') return null;
  const c = document.createElement('canvas');
  c.width = width;
  c.height = height;
  return c.getContext('2d');
}

export async function readLocalFile(file: {
  name: string;
  type: string;
  bytes: Uint8Array;
}): Promise<{ slice: RawSlice; attributes: DicomAttributes | null }> {
  const { name, type, bytes } = file;
  if (isDicom(name, bytes)) {
    const [first] = await readDicom(bytes);
    return { slice: first, attributes: first.attributes ?? null };
  }
  if (!/^image\/(jpeg|png)$/.test(type) && !/\.(jpe?g|png)$/i.test(name)) {
    throw new PixelPathError(`${type || 'this file type'} is not supported: drop a JPG, PNG or DICOM file`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes as BlobPart], { type: type || 'image/png' }));
  } catch {
    throw new PixelPathError('the image could not be decoded');
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PIXELS) throw new PixelPathError(`the image is too large (${width}x${height})`);
  const ctx = canvas2d(width, height);
  if (!ctx) throw new PixelPathError('no 2D canvas to decode the image');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { slice: { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 }, attributes: null };
}
