/**
 * A local file dropped on the panel (the upload flow of the original SSCLNet apps): DICOM read with the inference
 * module's reader (first frame), JPEG/PNG decoded by the browser to RGBA (luma conversion happens in
 * preprocessing). The browser's JPEG decoder may differ from PIL's by a grey level here and there.
 */
import { readDicomSlices } from '../inference/dicomFile';
import type { RawSlice } from '../inference/types';
import { MAX_PIXELS, PixelPathError } from './pixelPath';

export function isDicom(name: string, bytes: Uint8Array): boolean {
  const magic = bytes.length > 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
  return magic || /\.(dcm|dicom)$/i.test(name);
}

export async function readLocalFile(file: File): Promise<RawSlice> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (isDicom(file.name, bytes)) {
    const [first] = readDicomSlices(bytes);
    return first;
  }
  if (!/^image\/(jpeg|png)$/.test(file.type) && !/\.(jpe?g|png)$/i.test(file.name)) {
    throw new PixelPathError(`${file.type || 'this file type'} is not supported: drop a JPG, PNG or DICOM file`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes], { type: file.type || 'image/png' }));
  } catch {
    throw new PixelPathError('the image could not be decoded');
  }
  const { width, height } = bitmap;
  if (width * height > MAX_PIXELS) throw new PixelPathError(`the image is too large (${width}x${height})`);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new PixelPathError('no 2D canvas to decode the image');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return { data: ctx.getImageData(0, 0, width, height).data, width, height, channels: 4 };
}
