/**
 * More of the viewer behind the host interface, for the report and the heatmap (issues 13 and 14): the displayed
 * series as SOP Instance UIDs (no pixels read), an instance's metadata, and the geometry of the displayed image on
 * the viewport's canvas (where its corners are drawn now) with the events that move it.
 */
import type { CornerstoneLike } from './cornerstone';
import type { TrackedServices } from '../viewportTracker';
import { frameFromImageId } from '../classification/pixelPath';

export interface DisplayedSeries {
  viewportId: string;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  /** Per slice of the viewport's stack, in display order. */
  sopInstanceUIDs: string[];
  /** 0-based frame per slice. */
  frames: number[];
  imageIds: string[];
}

type Point = [number, number];

/** The displayed image on the viewport: its size in pixels and where three corners land on the canvas (CSS px). */
export interface ImagePlacement {
  width: number;
  height: number;
  /** Canvas coordinates of the image's outer corners: top-left, top-right, bottom-left (pixel edges, not centres). */
  topLeft: Point;
  topRight: Point;
  bottomLeft: Point;
  /** The canvas Cornerstone draws into (the placement is relative to it). */
  canvas: HTMLCanvasElement;
  /** SOP Instance UID + frame of the displayed image (a heatmap is only drawn over the image it was made for). */
  imageId: string;
}

interface GeometryViewport {
  element?: HTMLElement;
  canvas?: HTMLCanvasElement;
  getCurrentImageId?: () => string | undefined;
  getImageIds?: () => string[];
  getImageData?: () =>
    { dimensions?: number[]; imageData?: { indexToWorld?: (ijk: number[]) => number[] } } | undefined;
  worldToCanvas?: (world: number[]) => number[];
}

const viewportOf = (services: TrackedServices, viewportId?: string): { id: string; vp: GeometryViewport } | null => {
  const id = viewportId ?? services.viewportGridService.getActiveViewportId();
  if (!id) return null;
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(id) as unknown as
    GeometryViewport | null | undefined;
  return vp ? { id, vp } : null;
};

export function displayedSeries(
  services: TrackedServices,
  cs: CornerstoneLike | null,
  viewportId?: string,
): DisplayedSeries | null {
  const found = viewportOf(services, viewportId);
  if (!found) return null;
  const imageIds = found.vp.getImageIds?.() ?? [];
  const uid = services.viewportGridService.getState().viewports.get(found.id)?.displaySetInstanceUIDs?.[0];
  const ds = (uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined) as
    { StudyInstanceUID?: string; SeriesInstanceUID?: string; instances?: { SOPInstanceUID?: string }[] } | undefined;
  if (!ds?.StudyInstanceUID) return null;
  const sopInstanceUIDs = imageIds.map((imageId, i) => {
    const sop = cs?.metaData?.get('sopCommonModule', imageId)?.sopInstanceUID;
    return typeof sop === 'string' ? sop : (ds.instances?.[i]?.SOPInstanceUID ?? '');
  });
  return {
    viewportId: found.id,
    studyInstanceUID: ds.StudyInstanceUID,
    seriesInstanceUID: ds.SeriesInstanceUID ?? '',
    sopInstanceUIDs,
    frames: imageIds.map((id) => frameFromImageId(id)),
    imageIds,
  };
}

/** OHIF's naturalised metadata of an instance (its metadata provider's 'instance' module). */
export function instanceMetadata(cs: CornerstoneLike | null, imageId: string): Record<string, unknown> | null {
  return (imageId && cs?.metaData?.get('instance', imageId)) || null;
}

/**
 * Where the displayed (stack) image is drawn now: its corners through the viewport's own index -> world -> canvas
 * transforms, so pan, zoom, rotation and flips are all included. null for viewports without these (volume
 * viewports show a reformatted plane: no heatmap there).
 */
export function imagePlacement(services: TrackedServices, viewportId: string): ImagePlacement | null {
  const found = viewportOf(services, viewportId);
  const vp = found?.vp;
  if (!vp || typeof vp.getImageData !== 'function' || typeof vp.worldToCanvas !== 'function' || !vp.getImageIds)
    return null;
  const data = vp.getImageData();
  const toWorld = data?.imageData?.indexToWorld;
  const dims = data?.dimensions;
  if (!toWorld || !dims || dims.length < 2) return null;
  const canvas = vp.canvas ?? vp.element?.querySelector('canvas') ?? null;
  if (!canvas) return null;
  const [w, h] = dims;
  const at = (i: number, j: number): Point => {
    const c = vp.worldToCanvas!(toWorld.call(data!.imageData, [i, j, 0]));
    return [c[0], c[1]];
  };
  return {
    width: w,
    height: h,
    topLeft: at(-0.5, -0.5),
    topRight: at(w - 0.5, -0.5),
    bottomLeft: at(-0.5, h - 0.5),
    canvas,
    imageId: vp.getCurrentImageId?.() ?? '',
  };
}

/** Calls `cb` after every draw of the viewport (scroll, pan, zoom, window/level, resize); returns the stop function. */
export function onViewportRender(
  services: TrackedServices,
  cs: CornerstoneLike | null,
  viewportId: string,
  cb: () => void,
): () => void {
  const element = (
    services.cornerstoneViewportService.getCornerstoneViewport(viewportId) as unknown as GeometryViewport | null
  )?.element;
  if (!element) return () => undefined;
  const ev = cs?.Enums?.Events ?? {};
  const names = [
    ev.IMAGE_RENDERED ?? 'CORNERSTONE_IMAGE_RENDERED',
    ev.CAMERA_MODIFIED ?? 'CORNERSTONE_CAMERA_MODIFIED',
  ];
  names.forEach((n) => element.addEventListener(n, cb));
  const ro = typeof ResizeObserver !== 'undefined' ? new ResizeObserver(cb) : null;
  ro?.observe(element);
  return () => {
    names.forEach((n) => element.removeEventListener(n, cb));
    ro?.disconnect();
  };
}
