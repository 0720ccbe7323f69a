/** The classification part of the panel: model line, "Classify slice", auto/overlay switches, the result card. */
import React from 'react';
import type { ModelState } from '../services/ModelService';
import type { ClassificationState } from '../services/ClassificationService';
import type { Result } from '../engine/types';
import { COMMANDS } from '../id';
import { buttonStyle, colors, styles } from './styles';
import { backendName, className, percent } from './labels';
import { Checkbox, Details } from './ui';
import type { Run } from './PanelView';

/** The model in use: its version (shown once in the panel), or why there is none. Backend details are collapsed. */
export function ModelLine({ model }: { model: ModelState }) {
  const m = model.status;
  if (m.kind === 'idle' || m.kind === 'loading')
    return (
      <div data-testid="ssclnet-model" style={{ color: colors.muted }}>
        Loading the model…
      </div>
    );
  if (m.kind === 'none' || m.kind === 'failed')
    return (
      <div data-testid="ssclnet-model" style={styles.error}>
        {m.message}
      </div>
    );
  return (
    <div data-testid="ssclnet-model" data-where={m.where}>
      <span style={styles.label}>Model</span>
      <span data-testid="ssclnet-model-version">{m.version}</span>
      <Details testId="ssclnet-model-details">
        <div>
          Runs on{' '}
          <span data-testid="ssclnet-backend" data-backend={m.backend}>
            {m.backend}
          </span>{' '}
          ({backendName(m.backend)}) in {m.where === 'worker' ? 'a background worker' : 'the page'}
        </div>
        {m.backendReason ? <div>{m.backendReason}</div> : null}
        <div>Loaded and verified in {(m.loadMs / 1000).toFixed(1)} s</div>
      </Details>
    </div>
  );
}

/** Short, always at the top of a result. */
export const RESEARCH_LINE = 'Research use only, not for diagnosis.';

export interface ResultCardProps {
  classification: Result;
  /** Test id of the card (the slice's is 'ssclnet-result'). */
  testId: string;
  attrs?: Record<string, string | number>;
  /** What was classified (e.g. "Slice 3 / 7" or a file name) and its picture, if any. */
  subject?: React.ReactNode;
  thumbnail?: string | null;
}

/**
 * One classification as a card: the research-use line, then either four bars with the top class in plain words, or,
 * when declined, the reason in grey and no numbers; technical details (backend, timing) collapsed. Used for the
 * displayed slice and for a dropped file alike.
 */
export function ResultCard({ classification: c, testId, attrs = {}, subject, thumbnail }: ResultCardProps) {
  const declined = !!c.outOfRange;
  return (
    <div
      data-testid={testId}
      data-model-version={c.modelVersion}
      data-declined={declined ? 'true' : 'false'}
      data-stage={c.outOfRange?.stage ?? ''}
      {...attrs}
      style={styles.card}
    >
      <div style={styles.research} data-testid="ssclnet-research">
        {RESEARCH_LINE}
      </div>
      {subject || thumbnail ? (
        <div style={{ display: 'flex', alignItems: 'center', gap: '8px', marginBottom: '4px' }}>
          {thumbnail ? (
            <img
              src={thumbnail}
              alt="what was classified"
              data-testid="ssclnet-thumbnail"
              style={{ width: '48px', height: '48px', objectFit: 'contain', background: '#000', borderRadius: '2px' }}
            />
          ) : null}
          {subject ? (
            <div style={{ color: colors.muted, fontSize: '12px', overflowWrap: 'anywhere' }}>{subject}</div>
          ) : null}
        </div>
      ) : null}
      {declined ? (
        <div style={styles.declined} data-testid="ssclnet-declined">
          Outside the model&apos;s range: {c.outOfRange!.reason}
        </div>
      ) : (
        <>
          <div style={styles.top} data-testid="ssclnet-top" data-class={c.top.label}>
            {className(c.top.label)} {percent(c.top.probability)}
          </div>
          {c.classes.map((label, i) => (
            <div
              key={label}
              data-testid="ssclnet-prob"
              data-class={label}
              data-p={c.probabilities[i]}
              style={{ marginTop: '3px' }}
            >
              <div style={{ display: 'flex', justifyContent: 'space-between', fontSize: '12px' }}>
                <span>{className(label)}</span>
                <span>{percent(c.probabilities[i])}</span>
              </div>
              <div style={styles.barTrack}>
                <div
                  style={{
                    width: percent(c.probabilities[i]),
                    height: '100%',
                    background: i === c.top.index ? colors.accent : colors.bar,
                  }}
                />
              </div>
            </div>
          ))}
        </>
      )}
      <Details testId="ssclnet-result-details">
        <div data-testid="ssclnet-time">
          Model {c.modelVersion} · {backendName(c.backend)} · {c.ms.toFixed(0)} ms
        </div>
        {c.outOfRange?.score !== undefined ? (
          <div>
            Feature score {c.outOfRange.score.toFixed(1)} (limit {c.outOfRange.threshold?.toFixed(1)})
          </div>
        ) : null}
      </Details>
    </div>
  );
}

/** The displayed slice's result, or its error, or nothing. */
export function ResultView({ state }: { state: ClassificationState }) {
  if (state.error)
    return (
      <div data-testid="ssclnet-error" style={styles.error}>
        {state.error}
      </div>
    );
  const r = state.result;
  if (!r) return null;
  const attrs = { 'data-sop': r.identity?.sopInstanceUID ?? '', 'data-frame': r.identity?.frame ?? 0 };
  return <ResultCard classification={r.classification} testId="ssclnet-result" attrs={attrs} />;
}

export function ClassificationView({
  model,
  state,
  classes = [],
  run,
}: {
  model: ModelState;
  state: ClassificationState;
  classes?: string[];
  run: Run;
}) {
  const ready = model.status.kind === 'ready';
  return (
    <div data-testid="ssclnet-classification">
      <ModelLine model={model} />
      <div style={styles.row}>
        <button
          type="button"
          style={buttonStyle(ready && !state.busy, { marginTop: 0 })}
          disabled={!ready || state.busy}
          onClick={() => run(COMMANDS.classifySlice)}
          data-testid="ssclnet-classify"
          title="Classify the displayed slice (K)"
        >
          {state.busy ? 'Classifying…' : 'Classify slice'}
        </button>
        <Checkbox
          checked={state.auto}
          onChange={(value) => run(COMMANDS.setAuto, { value })}
          label="Auto"
          testId="ssclnet-auto"
        />
        <Checkbox
          checked={state.overlay}
          onChange={(value) => run(COMMANDS.setOverlay, { value })}
          label="Overlay"
          testId="ssclnet-overlay-toggle"
        />
      </div>
      <ResultView state={state} />
      {!state.result ? (
        <div style={{ ...styles.note, marginTop: '6px' }} data-testid="ssclnet-note">
          {RESEARCH_LINE}
          {classes.length ? ` Classes: ${classes.map(className).join(', ')}.` : ''}
        </div>
      ) : null}
    </div>
  );
}
