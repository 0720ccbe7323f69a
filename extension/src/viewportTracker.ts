/**
 * Follows the active viewport of the host OHIF and reports what it displays (series, slice) as a ViewerState.
 * Everything host-side is read at call time: the viewport grid, the Cornerstone viewports (recreated when the
 * layout or hanging protocol changes, so listeners are re-attached) and the host Cornerstone's event names
 * (passed in by the caller, from what OHIF hands the extension).
 */
import type { Types as CoreTypes } from '@cornerstonejs/core';
import {
  WAITING,
  sameState,
  seriesFromDisplaySet,
  sliceInfo,
  type DisplaySetLike,
  type ViewerState,
} from './viewerState';

interface Subscription {
  unsubscribe: () => void;
}
interface EventSource {
  EVENTS: Record<string, string>;
  subscribe: (event: string, cb: () => void) => Subscription;
}

/** The OHIF services we use, typed as far as we read them. */
export interface TrackedServices {
  viewportGridService: EventSource & {
    getActiveViewportId: () => string | undefined;
    getState: () => { viewports: Map<string, { displaySetInstanceUIDs?: string[] }> };
  };
  cornerstoneViewportService: EventSource & {
    getCornerstoneViewport: (viewportId: string) => CoreTypes.IViewport | undefined | null;
  };
  displaySetService: { getDisplaySetByUID: (uid: string) => DisplaySetLike | undefined };
}

// Fallbacks equal to Cornerstone3D 5.x's Enums.Events values, used only if the host's Cornerstone is not reachable.
const SLICE_EVENTS_FALLBACK = [
  'CORNERSTONE_STACK_NEW_IMAGE',
  'CORNERSTONE_VOLUME_NEW_IMAGE',
  'CORNERSTONE_IMAGE_RENDERED',
];

export function sliceEventNames(events: Record<string, string> | undefined | null): string[] {
  if (!events) return SLICE_EVENTS_FALLBACK;
  // IMAGE_RENDERED covers the first draw after a viewport is (re)created, which fires no NEW_IMAGE event.
  return [events.STACK_NEW_IMAGE, events.VOLUME_NEW_IMAGE, events.IMAGE_RENDERED].filter(Boolean);
}

type AnyViewport = CoreTypes.IViewport & {
  getCurrentImageIdIndex?: () => number;
  getImageIds?: () => string[];
  getSliceIndex?: () => number;
  getNumberOfSlices?: () => number;
};

export function readViewerState(services: TrackedServices): ViewerState {
  const viewportId = services.viewportGridService.getActiveViewportId();
  if (!viewportId) return WAITING;
  const vp = services.cornerstoneViewportService.getCornerstoneViewport(viewportId) as AnyViewport | null | undefined;
  if (!vp) return { kind: 'empty', viewportId };
  // Cornerstone3D 5.x viewports (stack and volume) all answer getSliceIndex/getNumberOfSlices; the stack
  // methods are a fallback for viewport kinds that do not.
  let slice = null;
  if (typeof vp.getSliceIndex === 'function' && typeof vp.getNumberOfSlices === 'function') {
    slice = sliceInfo(vp.getSliceIndex(), vp.getNumberOfSlices());
  }
  if (!slice && typeof vp.getImageIds === 'function' && typeof vp.getCurrentImageIdIndex === 'function') {
    try {
      slice = sliceInfo(vp.getCurrentImageIdIndex(), vp.getImageIds().length);
    } catch {
      slice = null; // a volume viewport between volumes throws ("No actor found"): nothing displayed yet
    }
  }
  if (!slice) return { kind: 'empty', viewportId };
  const uid = services.viewportGridService.getState().viewports.get(viewportId)?.displaySetInstanceUIDs?.[0];
  const series = seriesFromDisplaySet(uid ? services.displaySetService.getDisplaySetByUID(uid) : undefined);
  return { kind: 'showing', viewportId, series, slice };
}

/** Starts tracking; onChange gets each distinct state. Returns the function that stops it. */
export function trackActiveViewport(
  services: TrackedServices,
  onChange: (state: ViewerState) => void,
  names: string[] = sliceEventNames(null),
): () => void {
  let last: ViewerState | null = null;
  let element: HTMLElement | null = null;

  const publish = () => {
    let next: ViewerState;
    try {
      next = readViewerState(services);
    } catch (err) {
      console.warn('[ssclnet] could not read the viewport state', err);
      return;
    }
    if (!last || !sameState(last, next)) {
      last = next;
      onChange(next);
    }
  };
  const detach = () => {
    if (element) names.forEach((n) => element!.removeEventListener(n, publish));
    element = null;
  };
  const attach = () => {
    const id = services.viewportGridService.getActiveViewportId();
    const vp = id ? services.cornerstoneViewportService.getCornerstoneViewport(id) : null;
    const el = vp?.element ?? null;
    if (el !== element) {
      detach();
      element = el;
      if (el) names.forEach((n) => el.addEventListener(n, publish));
    }
    publish();
  };

  const subs: Subscription[] = [];
  const grid = services.viewportGridService;
  for (const key of ['ACTIVE_VIEWPORT_ID_CHANGED', 'GRID_STATE_CHANGED', 'VIEWPORTS_READY', 'LAYOUT_CHANGED']) {
    if (grid.EVENTS[key]) subs.push(grid.subscribe(grid.EVENTS[key], attach));
  }
  const csvs = services.cornerstoneViewportService;
  if (csvs.EVENTS.VIEWPORT_DATA_CHANGED) subs.push(csvs.subscribe(csvs.EVENTS.VIEWPORT_DATA_CHANGED, attach));
  attach();

  return () => {
    subs.forEach((s) => s.unsubscribe());
    detach();
  };
}
