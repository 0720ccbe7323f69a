/** The panel's UI: what is on screen now, and the place the classification UI will take. */
import React, { useEffect, useState } from 'react';
import { WAITING, formatSeries, formatSlice, modalityWarning, type ViewerState } from '../viewerState';
import { trackActiveViewport, type TrackedServices } from '../viewportTracker';

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

/** Where the classification of the displayed slice goes (issue "Classification in the viewer"). */
export function ClassificationSlot(_props: { state: ViewerState }) {
  return (
    <div style={styles.section} data-testid="ssclnet-classification">
      <span style={styles.label}>Classification</span>not enabled in this version
    </div>
  );
}

export function PanelView({ services }: { services: TrackedServices }) {
  const [state, setState] = useState<ViewerState>(WAITING);
  useEffect(() => trackActiveViewport(services, setState), [services]);
  return (
    <div style={styles.root} data-testid="ssclnet-panel">
      <h2 style={styles.title}>Brain MRI classification</h2>
      <DisplayedImage state={state} />
      <ClassificationSlot state={state} />
    </div>
  );
}
