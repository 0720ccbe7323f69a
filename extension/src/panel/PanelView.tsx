/**
 * The panel: a view over the two services. It reads their state through useServiceState and sends every intent
 * as an `ssclnet.*` command (the same ones hotkeys and the toolbar run). It fetches nothing and orchestrates
 * nothing; the overlay on the viewport is a view of the same state.
 */
import React, { useEffect } from 'react';
import { formatSeries, formatSlice, modalityWarning, type ViewerState } from '../viewerState';
import { COMMANDS } from '../id';
import { overlayFor, type ClassificationService } from '../services/ClassificationService';
import type { ModelService } from '../services/ModelService';
import { setViewportOverlay } from '../classification/overlay';
import { ClassificationView } from './ClassificationView';
import { SeriesView } from './SeriesView';
import { HistoryView } from './HistoryView';
import { FileDropView, UpdateView } from './ExtrasView';
import { useServiceState } from './useService';
import { styles } from './styles';

/** Runs a command by name (OHIF's commandsManager.runCommand). */
export type Run = (command: string, options?: Record<string, unknown>) => unknown;

export interface PanelServices {
  ssclnetModelService: ModelService;
  ssclnetClassificationService: ClassificationService;
}

export function DisplayedImage({ state }: { state: ViewerState }) {
  if (state.kind === 'waiting') return <div data-testid="ssclnet-status">Waiting for a viewport…</div>;
  if (state.kind === 'empty') return <div data-testid="ssclnet-status">No image in the active viewport</div>;
  const warning = modalityWarning(state.series);
  return (
    <div data-testid="ssclnet-status">
      <div>
        <span style={styles.label}>Series</span>
        <span data-testid="ssclnet-series">{formatSeries(state.series)}</span>
        {state.series?.modality ? <span style={styles.label}> ({state.series.modality})</span> : null}
      </div>
      <div>
        <span style={styles.label}>Slice</span>
        <span data-testid="ssclnet-slice">{formatSlice(state.slice)}</span>
      </div>
      {warning ? <div style={styles.warning} data-testid="ssclnet-warning">{warning}</div> : null}
    </div>
  );
}

/** The displayed slice's result drawn on its viewport (top class, or the decline in grey), or nothing. */
export function ViewportOverlay({ service }: { service: ClassificationService }) {
  const state = useServiceState(service);
  const overlay = overlayFor(state);
  const element = overlay ? service.viewportElement(overlay.viewportId) : null;
  useEffect(() => {
    if (!element) return undefined;
    setViewportOverlay(element, overlay!.text, overlay!.declined);
    return () => void setViewportOverlay(element, null);
  }, [element, overlay?.text, overlay?.declined]); // eslint-disable-line react-hooks/exhaustive-deps
  return null;
}

export function PanelView({ services, run }: { services: PanelServices; run: Run }) {
  const classification = services.ssclnetClassificationService;
  const model = services.ssclnetModelService;
  const cs = useServiceState(classification);
  const ms = useServiceState(model);
  // The panel follows the active viewport while it is mounted, and needs the model (loaded once per page).
  useEffect(() => classification.trackViewer(), [classification]);
  useEffect(() => void run(COMMANDS.loadModel), []); // eslint-disable-line react-hooks/exhaustive-deps
  const viewer = cs.viewer;
  return (
    <div style={styles.root} data-testid="ssclnet-panel">
      <h2 style={styles.title}>Brain MRI classification</h2>
      <DisplayedImage state={viewer} />
      <ClassificationView model={ms} state={cs} run={run} />
      <SeriesView series={cs.series} ready={ms.status.kind === 'ready'} current={viewer.kind === 'showing' ? viewer.slice.index : null} classes={model.classes} run={run} />
      <HistoryView history={cs.history} run={run} />
      <FileDropView file={cs.file} run={run} />
      <UpdateView model={ms} run={run} />
      <ViewportOverlay service={classification} />
    </div>
  );
}
