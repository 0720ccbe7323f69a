/**
 * The viewer as the classification service sees it: the active viewport, its displayed slice and series, slice
 * changes, jumping to a slice. Built from the OHIF services and the host's Cornerstone (both handed to the
 * extension by OHIF); the service itself never touches OHIF or Cornerstone, so it is tested with a stand-in.
 */
import type { ViewerState } from '../viewerState';
import { sliceEventNames, trackActiveViewport, type TrackedServices } from '../viewportTracker';
import { jumpToSlice, readDisplayedSlice, seriesSource, type DisplayedSlice, type SeriesSource } from '../classification/displayedSlice';
import type { CornerstoneLike } from './cornerstone';

export interface ViewerHost {
  /** Reports the active viewport's state (series, slice) on every change; returns the function that stops it. */
  trackViewer(onChange: (state: ViewerState) => void): () => void;
  readDisplayedSlice(viewportId?: string): DisplayedSlice;
  seriesSource(viewportId?: string): SeriesSource;
  jumpToSlice(viewportId: string, index: number): Promise<void>;
  viewportElement(viewportId: string): HTMLElement | null;
}

export function createOhifHost(services: TrackedServices, cornerstone: () => CornerstoneLike | null): ViewerHost {
  return {
    trackViewer: (onChange) => trackActiveViewport(services, onChange, sliceEventNames(cornerstone()?.Enums?.Events)),
    readDisplayedSlice: (viewportId) => readDisplayedSlice(services, cornerstone(), viewportId),
    seriesSource: (viewportId) => seriesSource(services, cornerstone(), viewportId),
    jumpToSlice: (viewportId, index) => jumpToSlice(services, cornerstone(), viewportId, index),
    viewportElement: (viewportId) => (services.cornerstoneViewportService.getCornerstoneViewport(viewportId)?.element as HTMLElement | undefined) ?? null,
  };
}
