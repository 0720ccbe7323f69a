/** The classification part of the panel: model status, "Classify slice", auto/overlay switches, the result card. */
import React from 'react';
import type { ModelState } from '../services/ModelService';
import type { ClassificationState } from '../services/ClassificationService';
import { COMMANDS } from '../id';
import { buttonStyle, colors, styles } from './styles';
import type { Run } from './PanelView';

function ModelLine({ model }: { model: ModelState }) {
  const m = model.status;
  if (m.kind === 'idle' || m.kind === 'loading') return <div data-testid="ssclnet-model">Loading the model…</div>;
  if (m.kind === 'none' || m.kind === 'failed') return <div data-testid="ssclnet-model" style={styles.error}>{m.message}</div>;
  return (
    <div data-testid="ssclnet-model" title={m.backendReason} data-where={m.where}>
      <span style={styles.label}>Model</span>
      <span data-testid="ssclnet-model-version">{m.version}</span>
      <span style={styles.label}> on </span>
      <span data-testid="ssclnet-backend">{m.backend}</span>
    </div>
  );
}

/** The displayed slice's result: four bars and the top class, or, when declined, the reason in grey and no numbers. */
export function ResultView({ state }: { state: ClassificationState }) {
  if (state.error) return <div data-testid="ssclnet-error" style={styles.error}>{state.error}</div>;
  const r = state.result;
  if (!r) return null;
  const c = r.classification;
  const common = { 'data-testid': 'ssclnet-result', 'data-model-version': c.modelVersion, 'data-sop': r.identity?.sopInstanceUID ?? '', 'data-frame': r.identity?.frame ?? 0 };
  if (c.outOfRange) {
    return (
      <div {...common} data-declined="true" data-stage={c.outOfRange.stage}>
        <div style={styles.declined} data-testid="ssclnet-declined">Outside the model&apos;s range: {c.outOfRange.reason}</div>
        <div data-testid="ssclnet-time" style={{ color: colors.declined }}>model {c.modelVersion}</div>
      </div>
    );
  }
  return (
    <div {...common} data-declined="false">
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
            <div style={{ width: `${(c.probabilities[i] * 100).toFixed(1)}%`, height: '100%', background: i === c.top.index ? colors.accent : colors.bar }} />
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

export function ClassificationView({ model, state, run }: { model: ModelState; state: ClassificationState; run: Run }) {
  const ready = model.status.kind === 'ready';
  const intendedUse = model.status.kind === 'ready' ? model.status.intendedUse : null;
  return (
    <div style={styles.section} data-testid="ssclnet-classification">
      <ModelLine model={model} />
      <button type="button" style={buttonStyle(ready && !state.busy, { marginTop: '6px' })} disabled={!ready || state.busy} onClick={() => run(COMMANDS.classifySlice)} data-testid="ssclnet-classify">
        {state.busy ? 'Classifying…' : 'Classify slice'}
      </button>
      <div style={{ marginTop: '6px' }}>
        <label style={{ marginRight: '12px' }}>
          <input type="checkbox" checked={state.auto} onChange={(e) => run(COMMANDS.setAuto, { value: e.target.checked })} data-testid="ssclnet-auto" /> Auto (every slice)
        </label>
        <label>
          <input type="checkbox" checked={state.overlay} onChange={(e) => run(COMMANDS.setOverlay, { value: e.target.checked })} data-testid="ssclnet-overlay-toggle" /> Overlay
        </label>
      </div>
      <ResultView state={state} />
      <div style={styles.note} data-testid="ssclnet-note">
        For research use only, not for diagnosis.{intendedUse ? ` Model card: ${intendedUse}` : ''}
      </div>
    </div>
  );
}
