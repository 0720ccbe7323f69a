/** The classification part of the panel: model status, "Classify slice", four probability bars, time, note. */
import React, { useEffect, useSyncExternalStore } from 'react';
import type { ClassificationController, ClassificationState } from './controller';

const styles = {
  section: { borderTop: '1px solid #2c3b53', paddingTop: '8px', marginTop: '8px' },
  label: { color: '#8ea3bd', marginRight: '6px' },
  error: { color: '#f07a5a', marginTop: '6px' },
  note: { color: '#8ea3bd', fontSize: '11px', marginTop: '8px', fontStyle: 'italic' },
  button: { background: '#1f5f8b', color: '#fff', border: 'none', borderRadius: '4px', padding: '4px 10px', cursor: 'pointer', marginTop: '6px' },
  barTrack: { background: '#1b2638', height: '8px', borderRadius: '4px', overflow: 'hidden' },
  top: { fontWeight: 600, color: '#5acce6', marginTop: '6px' },
} as const;

function ModelLine({ state }: { state: ClassificationState }) {
  const m = state.model;
  if (m.kind === 'idle' || m.kind === 'loading') return <div data-testid="ssclnet-model">Loading the model…</div>;
  if (m.kind === 'none') return <div data-testid="ssclnet-model" style={styles.error}>{m.message}</div>;
  if (m.kind === 'failed') return <div data-testid="ssclnet-model" style={styles.error}>{m.message}</div>;
  return (
    <div data-testid="ssclnet-model" title={m.backendReason}>
      <span style={styles.label}>Model</span>
      <span data-testid="ssclnet-model-version">{m.version}</span>
      <span style={styles.label}> on </span>
      <span data-testid="ssclnet-backend">{m.backend}</span>
    </div>
  );
}

export function ResultView({ state }: { state: ClassificationState }) {
  if (state.error) return <div data-testid="ssclnet-error" style={styles.error}>{state.error}</div>;
  const r = state.result;
  if (!r) return null;
  const c = r.classification;
  return (
    <div data-testid="ssclnet-result" data-model-version={c.modelVersion} data-sop={r.identity?.sopInstanceUID ?? ''} data-frame={r.identity?.frame ?? 0}>
      <div style={styles.top} data-testid="ssclnet-top">
        {c.top.label} {(c.top.probability * 100).toFixed(1)}%
      </div>
      {c.classes.map((label, i) => (
        <div key={label} data-testid="ssclnet-prob" data-class={label} data-p={c.probabilities[i]}>
          <div style={{ display: 'flex', justifyContent: 'space-between' }}>
            <span>{label}</span>
            <span>{(c.probabilities[i] * 100).toFixed(1)}%</span>
          </div>
          <div style={styles.barTrack}>
            <div style={{ width: `${(c.probabilities[i] * 100).toFixed(1)}%`, height: '100%', background: i === c.top.index ? '#5acce6' : '#52627a' }} />
          </div>
        </div>
      ))}
      <div data-testid="ssclnet-time">
        <span style={styles.label}>Inference</span>
        {c.ms.toFixed(0)} ms · model {c.modelVersion} · {c.backend}
      </div>
    </div>
  );
}

export function ClassificationView({ controller, onClassify }: { controller: ClassificationController; onClassify: () => void }) {
  const state = useSyncExternalStore(controller.subscribe, controller.getState);
  useEffect(() => {
    void controller.ensureModel();
  }, [controller]);
  const ready = state.model.kind === 'ready';
  const intendedUse = state.model.kind === 'ready' ? state.model.intendedUse : null;
  return (
    <div style={styles.section} data-testid="ssclnet-classification">
      <ModelLine state={state} />
      <button type="button" style={{ ...styles.button, opacity: ready && !state.busy ? 1 : 0.5 }} disabled={!ready || state.busy} onClick={onClassify} data-testid="ssclnet-classify">
        {state.busy ? 'Classifying…' : 'Classify slice'}
      </button>
      <div style={{ marginTop: '6px' }}>
        <label style={{ marginRight: '12px' }}>
          <input type="checkbox" checked={state.auto} onChange={(e) => controller.setAuto(e.target.checked)} data-testid="ssclnet-auto" /> Auto (every slice)
        </label>
        <label>
          <input type="checkbox" checked={state.overlay} onChange={(e) => controller.setOverlay(e.target.checked)} data-testid="ssclnet-overlay-toggle" /> Overlay
        </label>
      </div>
      <ResultView state={state} />
      <div style={styles.note} data-testid="ssclnet-note">
        For research use only, not for diagnosis.{intendedUse ? ` Model card: ${intendedUse}` : ''}
      </div>
    </div>
  );
}
