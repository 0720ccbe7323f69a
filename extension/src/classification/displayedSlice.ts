/**
 * Reads the active viewport's displayed image from the host (OHIF services + Cornerstone viewport) and hands it
 * to the pure pixel path. Stack viewports give their IImage; volume (MPR) viewports the displayed plane.
 */
import type { RawSlice } from '../inference/types';
import { PixelPathError, rawSliceFromImage, rawSliceFromVolumeSlice, type ImageLike } from './pixelPath';
import type { TrackedServices } from '../viewportTracker';

export interface SliceIdentity {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  frame: number;
  /** 0-based index in the viewport's stack / volume. */
  sliceIndex: number;
  sliceCount: number;
  imageId: string;
}

export interface DisplayedSlice {
  raw: RawSlice;
  identity: SliceIdentity;
  viewportId: string;
  kind: 'stack' | 'volume';
}

interface HostViewport {
  element?: HTMLElement;
  getCornerstoneImage?: () => ImageLike | undefined;
  getCurrentImageId?: () => string | undefined;
  getCurrentSlicePixelData?: () => ArrayLike<number>;
  getSliceViewInfo?: () => { width: number; height: number; sliceIndex: number };
  getSliceIndex?: () => number;
  getNumberOfSlices?: () => number;
  getImageIds?: () => string[];
}

interface DisplaySetUIDs {
  StudyInstanceUID?: string;
  SeriesInstanceUID?: string;
  Modality?: string;
  instances?: { SOPInstanceUID?: string; PhotometricInterpretation?: string }[];
}

type MetaData = { get: (type: string, imageId: string) => Record<string, unknown> | undefined };
const metaData = (): MetaData | undefined => (globalThis as { cornerstone?: { metaData?: MetaData } }).cornerstone?.metaData;

function sopFor(imageId: string, ds: DisplaySetUIDs | undefined, index: number): string {
  const fromMeta = metaData()?.get('sopCommonModule', imageId)?.sopInstanceUID;
  if (typeof fromMeta === 'string') return fromMeta;
  return ds?.instances?.[index]?.SOPInstanceUID ?? '';
}

/** The displayed slice of a viewport, or a PixelPathError saying why it can't be classified. */
export function readDisplayedSlice(services: TrackedServices, viewportId?: string): DisplayedSlice {
  const id = viewportId ?? services.viewportGridService.getActiveViewportId();
  if (!id) throw new PixelPathError('no active viewport');
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(id) as unknown as HostViewport | null | undefined;
  if (!vp) throw new PixelPathError('the active viewport shows no image');
  const uid = services.viewportGridService.getState().viewports.get(id)?.displaySetInstanceUIDs?.[0];
  const ds = (uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined) as DisplaySetUIDs | undefined;
  const modality = typeof ds?.Modality === 'string' ? ds.Modality.toUpperCase() : '';
  if (modality && modality !== 'MR') throw new PixelPathError(`this series is ${modality}; the classifier is for brain MR images`);
  const sliceIndex = vp.getSliceIndex?.() ?? 0;
  const sliceCount = vp.getNumberOfSlices?.() ?? 1;
  const base = { studyInstanceUID: ds?.StudyInstanceUID ?? '', seriesInstanceUID: ds?.SeriesInstanceUID ?? '', sliceIndex, sliceCount };

  if (typeof vp.getCornerstoneImage === 'function') {
    const image = vp.getCornerstoneImage();
    if (!image) throw new PixelPathError('the displayed image is not loaded yet');
    if (!image.photometricInterpretation) {
      const pm = metaData()?.get('imagePixelModule', image.imageId ?? '')?.photometricInterpretation;
      if (typeof pm === 'string') image.photometricInterpretation = pm;
    }
    const raw = rawSliceFromImage(image);
    const imageId = image.imageId ?? '';
    return { raw, viewportId: id, kind: 'stack', identity: { ...base, imageId, frame: raw.frame, sopInstanceUID: sopFor(imageId, ds, sliceIndex) } };
  }
  if (typeof vp.getCurrentSlicePixelData === 'function' && typeof vp.getSliceViewInfo === 'function') {
    const info = vp.getSliceViewInfo();
    const imageId = vp.getCurrentImageId?.() ?? '';
    const photometric = imageId ? metaData()?.get('imagePixelModule', imageId)?.photometricInterpretation : undefined;
    const raw = rawSliceFromVolumeSlice({
      data: vp.getCurrentSlicePixelData(),
      width: info.width,
      height: info.height,
      photometricInterpretation: typeof photometric === 'string' ? photometric : ds?.instances?.[0]?.PhotometricInterpretation,
    });
    return { raw, viewportId: id, kind: 'volume', identity: { ...base, imageId, frame: 0, sopInstanceUID: imageId ? sopFor(imageId, ds, sliceIndex) : '' } };
  }
  throw new PixelPathError('this viewport type (not a stack or volume viewport) cannot be classified');
}

type ImageLoader = { loadAndCacheImage: (imageId: string) => Promise<ImageLike> };
const imageLoader = (): ImageLoader | undefined => (globalThis as { cornerstone?: { imageLoader?: ImageLoader } }).cornerstone?.imageLoader;

/** Every image of the viewport's stack, loaded through Cornerstone's cache (what the viewport itself shows). */
export function seriesSource(services: TrackedServices, viewportId?: string): { viewportId: string; count: number; seriesInstanceUID: string; load: (index: number) => Promise<{ raw: RawSlice; identity: SliceIdentity }> } {
  const id = viewportId ?? services.viewportGridService.getActiveViewportId();
  if (!id) throw new PixelPathError('no active viewport');
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(id) as unknown as HostViewport | null | undefined;
  const imageIds = vp?.getImageIds?.() ?? [];
  if (!imageIds.length) throw new PixelPathError('the active viewport has no series to classify');
  const loader = imageLoader();
  if (!loader) throw new PixelPathError("Cornerstone's image loader is not available");
  const uid = services.viewportGridService.getState().viewports.get(id)?.displaySetInstanceUIDs?.[0];
  const ds = (uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined) as DisplaySetUIDs | undefined;
  const modality = typeof ds?.Modality === 'string' ? ds.Modality.toUpperCase() : '';
  if (modality && modality !== 'MR') throw new PixelPathError(`this series is ${modality}; the classifier is for brain MR images`);
  return {
    viewportId: id,
    count: imageIds.length,
    seriesInstanceUID: ds?.SeriesInstanceUID ?? '',
    load: async (index) => {
      const imageId = imageIds[index];
      const image = await loader.loadAndCacheImage(imageId);
      if (!image.photometricInterpretation) {
        const pm = metaData()?.get('imagePixelModule', imageId)?.photometricInterpretation;
        if (typeof pm === 'string') image.photometricInterpretation = pm;
      }
      const raw = rawSliceFromImage({ ...image, imageId });
      return {
        raw,
        identity: {
          studyInstanceUID: ds?.StudyInstanceUID ?? '', seriesInstanceUID: ds?.SeriesInstanceUID ?? '',
          sopInstanceUID: sopFor(imageId, ds, index), frame: raw.frame, sliceIndex: index, sliceCount: imageIds.length, imageId,
        },
      };
    },
  };
}

/** Shows slice `index` in the viewport (stack viewports; volume viewports through Cornerstone's utility). */
export async function jumpToSlice(services: TrackedServices, viewportId: string, index: number): Promise<void> {
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(viewportId) as unknown as HostViewport & { setImageIdIndex?: (i: number) => Promise<unknown> } | null;
  if (!vp) return;
  if (typeof vp.setImageIdIndex === 'function') {
    await vp.setImageIdIndex(index);
    return;
  }
  const jump = (globalThis as { cornerstone?: { utilities?: { jumpToSlice?: (el: HTMLElement, o: { imageIndex: number }) => Promise<void> } } }).cornerstone?.utilities?.jumpToSlice;
  if (jump && vp.element) await jump(vp.element, { imageIndex: index });
}
