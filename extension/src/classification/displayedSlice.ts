/**
 * Reads the active viewport's displayed image from the host (OHIF services + Cornerstone viewport, with the
 * host's Cornerstone passed in) and hands it to the pure pixel path. Stack viewports give their IImage; volume
 * (MPR) viewports the displayed plane. Each slice comes with the instance's DICOM attributes for the metadata gate.
 */
import type { RawSlice } from '../inference/types';
import type { DicomAttributes } from '../engine/types';
import type { CornerstoneLike } from '../host/cornerstone';
import { PixelPathError, rawSliceFromImage, rawSliceFromVolumeSlice, type ImageLike } from './pixelPath';
import { dicomAttributes } from './dicomAttributes';
import { volumeFromImageData, volumePlane } from './volumePlane';
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
  /** For the metadata gate; null when the host has no metadata for the instance. */
  attributes: DicomAttributes | null;
}

/** One slice of a series run. */
export interface SeriesSlice {
  raw: RawSlice;
  identity: SliceIdentity;
  attributes: DicomAttributes | null;
}

export interface SeriesSource {
  viewportId: string;
  count: number;
  seriesInstanceUID: string;
  load: (index: number) => Promise<SeriesSlice>;
}

interface HostViewport {
  element?: HTMLElement;
  getCornerstoneImage?: () => ImageLike | undefined;
  getCurrentImageId?: () => string | undefined;
  getImageData?: () => unknown;
  getSliceIndex?: () => number;
  getNumberOfSlices?: () => number;
  getImageIds?: () => string[];
  getCamera?: () => { viewPlaneNormal?: ArrayLike<number>; viewUp?: ArrayLike<number> };
}

/**
 * Image Orientation (Patient) of a volume viewport's displayed plane, from its camera: rows run along
 * viewUp x viewPlaneNormal (screen right), columns along -viewUp (screen down). Null without a usable camera.
 */
export function planeOrientation(
  camera: { viewPlaneNormal?: ArrayLike<number>; viewUp?: ArrayLike<number> } | undefined,
): number[] | null {
  const n = camera?.viewPlaneNormal,
    up = camera?.viewUp;
  if (!n || !up || n.length !== 3 || up.length !== 3) return null;
  const right = [up[1] * n[2] - up[2] * n[1], up[2] * n[0] - up[0] * n[2], up[0] * n[1] - up[1] * n[0]];
  const down = [-up[0], -up[1], -up[2]];
  const norm = (v: number[]) => Math.hypot(v[0], v[1], v[2]);
  if (!(norm(right) > 1e-6 && norm(down) > 1e-6)) return null;
  return [...right.map((x) => x / norm(right)), ...down.map((x) => x / norm(down))];
}

interface DisplaySetUIDs {
  StudyInstanceUID?: string;
  SeriesInstanceUID?: string;
  Modality?: string;
  instances?: ({ SOPInstanceUID?: string; PhotometricInterpretation?: string } & Record<string, unknown>)[];
}

function sopFor(cs: CornerstoneLike | null, imageId: string, ds: DisplaySetUIDs | undefined, index: number): string {
  const fromMeta = cs?.metaData?.get('sopCommonModule', imageId)?.sopInstanceUID;
  if (typeof fromMeta === 'string') return fromMeta;
  return ds?.instances?.[index]?.SOPInstanceUID ?? '';
}

/** The instance's naturalized DICOM (OHIF's metadata provider), else the display set's copy. */
function attributesFor(
  cs: CornerstoneLike | null,
  imageId: string,
  ds: DisplaySetUIDs | undefined,
  index: number,
  frame: number,
): DicomAttributes | null {
  const fromMeta = imageId ? cs?.metaData?.get('instance', imageId) : undefined;
  const attributes = dicomAttributes(fromMeta ?? ds?.instances?.[index] ?? null, frame);
  if (attributes && !attributes.Modality && typeof ds?.Modality === 'string')
    attributes.Modality = ds.Modality.toUpperCase();
  return attributes;
}

/** A volume viewport's image id getters throw while its volume actor is being replaced: '' then, as for none. */
function orEmpty(get: () => string | undefined): string {
  try {
    return get() ?? '';
  } catch {
    return '';
  }
}

/** The displayed slice of a viewport, or a PixelPathError saying why it can't be classified. */
export function readDisplayedSlice(
  services: TrackedServices,
  cs: CornerstoneLike | null,
  viewportId?: string,
): DisplayedSlice {
  const id = viewportId ?? services.viewportGridService.getActiveViewportId();
  if (!id) throw new PixelPathError('no active viewport');
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(id) as unknown as
    HostViewport | null | undefined;
  if (!vp) throw new PixelPathError('the active viewport shows no image');
  const uid = services.viewportGridService.getState().viewports.get(id)?.displaySetInstanceUIDs?.[0];
  const ds = (uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined) as DisplaySetUIDs | undefined;
  const modality = typeof ds?.Modality === 'string' ? ds.Modality.toUpperCase() : '';
  if (modality && modality !== 'MR')
    throw new PixelPathError(`this series is ${modality}; the classifier is for brain MR images`);
  const sliceIndex = vp.getSliceIndex?.() ?? 0;
  const sliceCount = vp.getNumberOfSlices?.() ?? 1;
  const base = {
    studyInstanceUID: ds?.StudyInstanceUID ?? '',
    seriesInstanceUID: ds?.SeriesInstanceUID ?? '',
    sliceIndex,
    sliceCount,
  };

  if (typeof vp.getCornerstoneImage === 'function') {
    const image = vp.getCornerstoneImage();
    if (!image) throw new PixelPathError('the displayed image is not loaded yet');
    if (!image.photometricInterpretation) {
      const pm = cs?.metaData?.get('imagePixelModule', image.imageId ?? '')?.photometricInterpretation;
      if (typeof pm === 'string') image.photometricInterpretation = pm;
    }
    const raw = rawSliceFromImage(image);
    const imageId = image.imageId ?? '';
    return {
      raw,
      viewportId: id,
      kind: 'stack',
      attributes: attributesFor(cs, imageId, ds, sliceIndex, raw.frame),
      identity: { ...base, imageId, frame: raw.frame, sopInstanceUID: sopFor(cs, imageId, ds, sliceIndex) },
    };
  }
  if (typeof vp.getImageData === 'function' && typeof vp.getCamera === 'function') {
    const camera = vp.getCamera();
    const plane = volumePlane(volumeFromImageData(vp.getImageData()), camera);
    const imageId = orEmpty(() => vp.getCurrentImageId?.()); // the acquired image in this plane, when it is one
    const photometric = imageId ? cs?.metaData?.get('imagePixelModule', imageId)?.photometricInterpretation : undefined;
    const raw = rawSliceFromVolumeSlice({
      data: plane.data,
      width: plane.width,
      height: plane.height,
      photometricInterpretation:
        typeof photometric === 'string' ? photometric : ds?.instances?.[0]?.PhotometricInterpretation,
    });
    // A volume plane is the displayed reformat, not one acquired slice: its orientation is the viewport camera's
    // (MPR: axial, sagittal or coronal) and its pixel spacing the volume's along the plane, so the metadata gate
    // checks those (a sagittal or coronal plane is declined as "not an axial slice"). The series' other attributes
    // come from the acquired image in the plane, else from the series' first instance.
    const orientation = planeOrientation(camera);
    const firstImageId = orEmpty(() => vp.getImageIds?.()?.[0]);
    const attributes =
      attributesFor(cs, imageId || firstImageId, ds, imageId ? sliceIndex : 0, 0) ??
      ({ Modality: modality || undefined } as DicomAttributes);
    if (orientation) attributes.ImageOrientationPatient = orientation;
    else delete attributes.ImageOrientationPatient;
    attributes.PixelSpacing = plane.pixelSpacing;
    return {
      raw,
      viewportId: id,
      kind: 'volume',
      attributes,
      identity: {
        ...base,
        sliceIndex: plane.sliceIndex,
        sliceCount: plane.sliceCount,
        imageId,
        frame: 0,
        sopInstanceUID: imageId ? sopFor(cs, imageId, ds, sliceIndex) : '',
      },
    };
  }
  throw new PixelPathError('this viewport type (not a stack or volume viewport) cannot be classified');
}

/** Every image of the viewport's stack, loaded through Cornerstone's cache (what the viewport itself shows). */
export function seriesSource(services: TrackedServices, cs: CornerstoneLike | null, viewportId?: string): SeriesSource {
  const id = viewportId ?? services.viewportGridService.getActiveViewportId();
  if (!id) throw new PixelPathError('no active viewport');
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(id) as unknown as
    HostViewport | null | undefined;
  const imageIds = vp?.getImageIds?.() ?? [];
  if (!imageIds.length) throw new PixelPathError('the active viewport has no series to classify');
  const loader = cs?.imageLoader;
  if (!loader) throw new PixelPathError("Cornerstone's image loader is not available");
  const uid = services.viewportGridService.getState().viewports.get(id)?.displaySetInstanceUIDs?.[0];
  const ds = (uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined) as DisplaySetUIDs | undefined;
  const modality = typeof ds?.Modality === 'string' ? ds.Modality.toUpperCase() : '';
  if (modality && modality !== 'MR')
    throw new PixelPathError(`this series is ${modality}; the classifier is for brain MR images`);
  return {
    viewportId: id,
    count: imageIds.length,
    seriesInstanceUID: ds?.SeriesInstanceUID ?? '',
    load: async (index) => {
      const imageId = imageIds[index];
      const image = await loader.loadAndCacheImage(imageId);
      if (!image.photometricInterpretation) {
        const pm = cs?.metaData?.get('imagePixelModule', imageId)?.photometricInterpretation;
        if (typeof pm === 'string') image.photometricInterpretation = pm;
      }
      const raw = rawSliceFromImage({ ...image, imageId });
      return {
        raw,
        attributes: attributesFor(cs, imageId, ds, index, raw.frame),
        identity: {
          studyInstanceUID: ds?.StudyInstanceUID ?? '',
          seriesInstanceUID: ds?.SeriesInstanceUID ?? '',
          sopInstanceUID: sopFor(cs, imageId, ds, index),
          frame: raw.frame,
          sliceIndex: index,
          sliceCount: imageIds.length,
          imageId,
        },
      };
    },
  };
}

/** Shows slice `index` in the viewport (stack viewports; volume viewports through Cornerstone's utility). */
export async function jumpToSlice(
  services: TrackedServices,
  cs: CornerstoneLike | null,
  viewportId: string,
  index: number,
): Promise<void> {
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(viewportId) as unknown as
    (HostViewport & { setImageIdIndex?: (i: number) => Promise<unknown> }) | null;
  if (!vp) return;
  if (typeof vp.setImageIdIndex === 'function') {
    await vp.setImageIdIndex(index);
    return;
  }
  const jump = cs?.utilities?.jumpToSlice;
  if (jump && vp.element) await jump(vp.element, { imageIndex: index });
}
