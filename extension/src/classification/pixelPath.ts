/**
 * The displayed image of a Cornerstone viewport as a RawSlice for the inference module: stored values with the
 * modality LUT, the MONOCHROME1 flag, colour and frame carried. Pure functions over plain shapes (no Cornerstone
 * import), so the rules are tested on real DICOM in Node.
 *
 * Windowing: the user's current VOI is deliberately NOT used. The model card's preprocessing (see
 * trainer/ssclnet/preprocess.py) normalises every slice with a fixed per-slice robust min-max on the modality
 * values, which is what the model saw in training (JPEGs and DICOM alike). Feeding the on-screen window would
 * make the prediction depend on how the user happened to drag the window, so the same slice would get different
 * answers; feeding stored values + modality LUT reproduces the training input exactly.
 */
import type { PixelArray, RawSlice } from '../inference/types';

/** Larger images are refused: the preprocessing works in float64 on the full image (memory and time). */
export const MAX_PIXELS = 4096 * 4096;

export class PixelPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PixelPathError';
  }
}

/** The fields of a Cornerstone3D IImage we read (names as in @cornerstonejs/core 5.x). */
export interface ImageLike {
  imageId?: string;
  rows: number;
  columns: number;
  getPixelData: () => ArrayLike<number> | undefined | null;
  color?: boolean;
  rgba?: boolean;
  numberOfComponents?: number;
  slope?: number;
  intercept?: number;
  photometricInterpretation?: string;
  preScale?: { enabled?: boolean; scaled?: boolean };
  isPreScaled?: boolean;
}

/** Frame index (0-based) named by a WADO-RS (`/frames/N`, 1-based) or wadouri (`frame=N`, 0-based) image id. */
export function frameFromImageId(imageId: string | undefined): number {
  if (!imageId) return 0;
  const rs = /\/frames\/(\d+)/.exec(imageId);
  if (rs) return Math.max(0, parseInt(rs[1], 10) - 1);
  const uri = /[?&]frame=(\d+)/.exec(imageId);
  return uri ? parseInt(uri[1], 10) : 0;
}

function checkSize(width: number, height: number): void {
  if (!(width > 0 && height > 0)) throw new PixelPathError(`the image has no pixels (${width}x${height})`);
  if (width * height > MAX_PIXELS) {
    throw new PixelPathError(
      `the image is too large to classify here (${width}x${height}; at most ${MAX_PIXELS} pixels)`,
    );
  }
}

/** A stack viewport's current image (Cornerstone IImage) -> RawSlice. */
export function rawSliceFromImage(image: ImageLike): RawSlice & { frame: number } {
  const width = image.columns;
  const height = image.rows;
  checkSize(width, height);
  const data = image.getPixelData();
  if (!data || data.length === 0) throw new PixelPathError('the displayed image has no pixel data');
  const n = width * height;
  let channels: 1 | 3 | 4 = 1;
  if (image.color) {
    // The loaders give RGB or RGBA (rgba flag / numberOfComponents), already converted from YBR.
    channels = image.rgba || image.numberOfComponents === 4 || data.length === n * 4 ? 4 : 3;
  }
  if (data.length < n * channels) {
    throw new PixelPathError(`pixel data too short: ${data.length} values for ${width}x${height}x${channels}`);
  }
  // When the loader pre-scaled (values already through the modality LUT), applying slope/intercept again would
  // double it; otherwise the stored values need it.
  const scaled = image.preScale?.scaled === true || image.isPreScaled === true;
  const slope = scaled || channels > 1 ? 1 : (image.slope ?? 1);
  const intercept = scaled || channels > 1 ? 0 : (image.intercept ?? 0);
  const monochrome1 = (image.photometricInterpretation ?? '').trim().toUpperCase() === 'MONOCHROME1';
  return {
    data: data as PixelArray,
    width,
    height,
    channels,
    slope,
    intercept,
    monochrome1,
    frame: frameFromImageId(image.imageId),
  };
}

/** What a volume viewport gives for the displayed plane. Volumes are always pre-scaled by Cornerstone. */
export interface VolumeSliceLike {
  data: ArrayLike<number> | undefined | null;
  width: number;
  height: number;
  photometricInterpretation?: string;
}

export function rawSliceFromVolumeSlice(slice: VolumeSliceLike): RawSlice {
  checkSize(slice.width, slice.height);
  const data = slice.data;
  if (!data || data.length < slice.width * slice.height)
    throw new PixelPathError('the displayed plane has no pixel data');
  if (data.length >= slice.width * slice.height * 3) {
    throw new PixelPathError('colour volumes are not supported; open the series in a stack viewport');
  }
  const monochrome1 = (slice.photometricInterpretation ?? '').trim().toUpperCase() === 'MONOCHROME1';
  return {
    data: data as PixelArray,
    width: slice.width,
    height: slice.height,
    channels: 1,
    slope: 1,
    intercept: 0,
    monochrome1,
  };
}
