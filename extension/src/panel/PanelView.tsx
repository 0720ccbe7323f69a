/** The panel's UI: what is on screen now, and the place the classification UI will take. */
import React, { useEffect, useState, useSyncExternalStore } from 'react';
import { WAITING, formatSeries, formatSlice, modalityWarning, type ViewerState } from '../viewerState';
import { trackActiveViewport, type TrackedServices } from '../viewportTracker';
import { ClassificationView } from '../classification/ClassificationView';
import { jumpToSlice, readDisplayedSlice, seriesSource } from '../classification/displayedSlice';
import { SeriesView } from '../classification/SeriesView';
import { HistoryView } from '../classification/HistoryView';
import { FileDropView, UpdateView } from '../classification/ExtrasView';
import { readLocalFile } from '../classification/localFile';
import { getController } from '../classification/instance';
import { overlayText, setViewportOverlay } from '../classification/overlay';

const styles = {
  root: { padding: '12px', color: '#d8e1ee', fontSize: '13px', lineHeight: 1.5, fontFamily: 'Inter, sans-serif' },
  title: { fontSize: '14px', fontWeight: 600, color: '#5acce6', margin: '0 0 8px' },
  label: { color: '#8ea3bd', marginRight: '6px' },
  warning: { color: '#f0b45a', marginTop: '6px' },
  section: { borderTop: '1px solid #2c3b53', paddingTop: '8px', marginTop: '8px' },
} as const;

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

/** Auto mode waits this long after the last slice change, so scrolling through a stack runs one inference. */
export const AUTO_DEBOUNCE_MS = 250;

/** Classification of the displayed slice (issue "Classification in the viewer"). */
export function ClassificationSlot({ services, state }: { services: TrackedServices; state: ViewerState }) {
  const controller = getController();
  const cs = useSyncExternalStore(controller.subscribe, controller.getState);
  // A result describes one slice: when the user scrolls away it is cleared rather than shown for the new slice,
  // and in auto mode the new slice is classified once scrolling pauses (older requests are dropped as stale).
  const sliceKey = state.kind === 'showing' ? `${state.viewportId}:${state.slice.index}` : state.kind;
  const ready = cs.model.kind === 'ready';
  useEffect(() => {
    controller.clearResult();
    if (!cs.auto || !ready || state.kind !== 'showing') return undefined;
    const timer = setTimeout(() => void controller.classifySlice(() => readDisplayedSlice(services)), AUTO_DEBOUNCE_MS);
    return () => clearTimeout(timer);
  }, [controller, sliceKey, cs.auto, ready]); // eslint-disable-line react-hooks/exhaustive-deps

  const element = state.kind === 'showing' ? services.cornerstoneViewportService.getCornerstoneViewport(state.viewportId)?.element : null;
  // The overlay shows this slice's own result: the panel's, or the whole-series run's for this viewport.
  let shown = cs.result && state.kind === 'showing' && (!cs.result.identity || cs.result.identity.sliceIndex === state.slice.index) ? cs.result.classification : null;
  const series = cs.series;
  if (!shown && state.kind === 'showing' && 'outcomes' in series && series.viewportId === state.viewportId && series.total === state.slice.count) {
    shown = series.outcomes[state.slice.index]?.classification ?? null;
  }
  const text = cs.overlay && shown ? overlayText(shown.top.label, shown.top.probability, shown.modelVersion) : null;
  useEffect(() => {
    setViewportOverlay(element, text);
  }, [element, text]);
  useEffect(() => () => void setViewportOverlay(element, null), [element]);

  const onClassify = () => {
    void controller.classifySlice(() => readDisplayedSlice(services));
  };
  const classes = cs.model.kind === 'ready' ? (controller.model?.card.classes ?? []) : [];
  return (
    <>
      <ClassificationView controller={controller} onClassify={onClassify} />
      <SeriesView
        series={cs.series}
        ready={cs.model.kind === 'ready'}
        current={state.kind === 'showing' ? state.slice.index : null}
        classes={classes}
        onRun={() => void controller.runSeries(() => seriesSource(services))}
        onCancel={() => controller.cancelSeries()}
        onJump={(i) => {
          if ('viewportId' in cs.series) void jumpToSlice(services, cs.series.viewportId, i);
        }}
      />
      <HistoryView history={cs.history} />
      <FileDropView state={cs} onFile={(file) => void controller.classifyFile(file.name, () => readLocalFile(file))} />
      <UpdateView state={cs} onCheck={() => void controller.checkForUpdate()} onConfirm={() => void controller.confirmUpdate()} />
    </>
  );
}

export function PanelView({ services }: { services: TrackedServices }) {
  const [state, setState] = useState<ViewerState>(WAITING);
  useEffect(() => trackActiveViewport(services, setState), [services]);
  return (
    <div style={styles.root} data-testid="ssclnet-panel">
      <h2 style={styles.title}>Brain MRI classification</h2>
      <DisplayedImage state={state} />
      <ClassificationSlot services={services} state={state} />
    </div>
  );
}
