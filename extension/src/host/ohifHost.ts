/**
 * The viewer as the classification service sees it: the active viewport, its displayed slice and series, slice
 * changes, jumping to a slice. Built from the OHIF services and the host's Cornerstone (both handed to the
 * extension by OHIF); the service itself never touches OHIF or Cornerstone, so it is tested with a stand-in.
 */
import type { ViewerState } from '../viewerState';
import { sliceEventNames, trackActiveViewport, type TrackedServices } from '../viewportTracker';
import {
  jumpToSlice,
  readDisplayedSlice,
  seriesSource,
  type DisplayedSlice,
  type SeriesSource,
} from '../classification/displayedSlice';
import type { CornerstoneLike } from './cornerstone';
import { showInstance, type ShowInstanceServices } from './showInstance';
import {
  displayedSeries,
  imagePlacement,
  instanceMetadata,
  onViewportRender,
  type DisplayedSeries,
  type ImagePlacement,
} from './viewportExtras';

export type { DisplayedSeries, ImagePlacement };

export interface ViewerHost {
  /** Reports the active viewport's state (series, slice) on every change; returns the function that stops it. */
  trackViewer(onChange: (state: ViewerState) => void): () => void;
  readDisplayedSlice(viewportId?: string): DisplayedSlice;
  seriesSource(viewportId?: string): SeriesSource;
  jumpToSlice(viewportId: string, index: number): Promise<void>;
  viewportElement(viewportId: string): HTMLElement | null;
  /** The viewport's series as SOP Instance UIDs, without reading pixels (report, prior results). */
  displayedSeries?(viewportId?: string): DisplayedSeries | null;
  /** OHIF's naturalised metadata of an instance (the report copies patient/study attributes from it). */
  instanceMetadata?(imageId: string): Record<string, unknown> | null;
  /** Where the displayed image is drawn on the canvas now (heatmap layer). */
  imagePlacement?(viewportId: string): ImagePlacement | null;
  /** Calls back after each draw of the viewport (pan, zoom, window/level, scroll, resize). */
  onViewportRender?(viewportId: string, cb: () => void): () => void;
  /** Shows an instance of an open series in the active viewport (a history row of another series). */
  showInstance?(seriesInstanceUID: string, sopInstanceUID: string, frame: number): Promise<boolean>;
}

export function createOhifHost(services: TrackedServices, cornerstone: () => CornerstoneLike | null): ViewerHost {
  return {
    trackViewer: (onChange) => trackActiveViewport(services, onChange, sliceEventNames(cornerstone()?.Enums?.Events)),
    readDisplayedSlice: (viewportId) => readDisplayedSlice(services, cornerstone(), viewportId),
    seriesSource: (viewportId) => seriesSource(services, cornerstone(), viewportId),
    jumpToSlice: (viewportId, index) => jumpToSlice(services, cornerstone(), viewportId, index),
    displayedSeries: (viewportId) => displayedSeries(services, cornerstone(), viewportId),
    instanceMetadata: (imageId) => instanceMetadata(cornerstone(), imageId),
    imagePlacement: (viewportId) => imagePlacement(services, viewportId),
    onViewportRender: (viewportId, cb) => onViewportRender(services, cornerstone(), viewportId, cb),
    showInstance: (series, sop) => showInstance(services as unknown as ShowInstanceServices, series, sop),
    viewportElement: (viewportId) =>
      (services.cornerstoneViewportService.getCornerstoneViewport(viewportId)?.element as HTMLElement | undefined) ??
      null,
  };
}
