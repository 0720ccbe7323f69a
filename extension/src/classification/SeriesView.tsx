/** Whole-series UI: run / cancel with progress, a per-slice strip of class probabilities (click jumps), a summary. */
import React from 'react';
import type { SeriesState } from './controller';

/** One colour per class, in the card's class order (glioma, meningioma, notumor, pituitary for SSCLNet). */
export const CLASS_COLORS = ['#e4572e', '#f3a712', '#52627a', '#a06cd5', '#29bf12', '#17bebb'];

const styles = {
  section: { borderTop: '1px solid #2c3b53', paddingTop: '8px', marginTop: '8px' },
  button: { background: '#1f5f8b', color: '#fff', border: 'none', borderRadius: '4px', padding: '4px 10px', cursor: 'pointer', marginRight: '6px' },
  error: { color: '#f07a5a', marginTop: '6px' },
} as const;

export function SeriesStrip({ series, current, onJump }: { series: Extract<SeriesState, { outcomes: unknown }>; current: number | null; onJump: (i: number) => void }) {
  const cells = Array.from({ length: series.total }, (_, i) => series.outcomes[i]);
  return (
    <div data-testid="ssclnet-strip" style={{ display: 'flex', height: '48px', gap: '1px', marginTop: '6px', alignItems: 'stretch' }}>
      {cells.map((o, i) => {
        const c = o?.classification;
        const title = c ? `slice ${i + 1}: ${c.classes.map((k, j) => `${k} ${(c.probabilities[j] * 100).toFixed(1)}%`).join(', ')}` : o?.error ? `slice ${i + 1}: ${o.error}` : `slice ${i + 1}: not classified`;
        return (
          <div key={i} data-testid="ssclnet-strip-cell" data-slice={i} title={title} onClick={() => onJump(i)}
            style={{ flex: 1, display: 'flex', flexDirection: 'column-reverse', cursor: 'pointer', background: o?.error ? '#5a2a2a' : '#1b2638', outline: current === i ? '1px solid #fff' : 'none' }}>
            {c ? c.probabilities.map((p, j) => <div key={j} style={{ height: `${p * 100}%`, background: CLASS_COLORS[j % CLASS_COLORS.length] }} />) : null}
          </div>
        );
      })}
    </div>
  );
}

export function SeriesView({ series, ready, current, classes, onRun, onCancel, onJump }: {
  series: SeriesState; ready: boolean; current: number | null; classes: string[];
  onRun: () => void; onCancel: () => void; onJump: (i: number) => void;
}) {
  const running = series.kind === 'running';
  return (
    <div style={styles.section} data-testid="ssclnet-series-panel">
      <button type="button" style={{ ...styles.button, opacity: ready && !running ? 1 : 0.5 }} disabled={!ready || running} onClick={onRun} data-testid="ssclnet-classify-series">
        Classify series
      </button>
      {running ? <button type="button" style={styles.button} onClick={onCancel} data-testid="ssclnet-cancel-series">Cancel</button> : null}
      {series.kind === 'failed' ? <div style={styles.error} data-testid="ssclnet-series-error">{series.message}</div> : null}
      {series.kind === 'running' || series.kind === 'done' || series.kind === 'cancelled' ? (
        <div>
          <progress data-testid="ssclnet-progress" max={series.total} value={series.done} style={{ width: '100%', marginTop: '6px' }} />
          <div data-testid="ssclnet-series-status">
            {series.kind === 'running' ? `Classifying ${series.done} / ${series.total}…` : series.kind === 'cancelled' ? `Cancelled after ${series.done} / ${series.total}` : `${series.done} / ${series.total} slices · model ${series.modelVersion}`}
          </div>
          <SeriesStrip series={series} current={current} onJump={onJump} />
          <div style={{ display: 'flex', flexWrap: 'wrap', gap: '8px', fontSize: '11px', marginTop: '4px' }}>
            {classes.map((k, j) => (
              <span key={k}><span style={{ display: 'inline-block', width: '8px', height: '8px', background: CLASS_COLORS[j % CLASS_COLORS.length], marginRight: '3px' }} />{k}</span>
            ))}
          </div>
          {series.summary ? (
            <div data-testid="ssclnet-series-summary" data-slice={series.summary.maxTumorSlice} data-p={series.summary.maxTumor} style={{ marginTop: '4px' }}>
              Highest tumour probability: {(series.summary.maxTumor * 100).toFixed(1)}% ({series.summary.maxTumorClass}) at slice {series.summary.maxTumorSlice + 1}
              {series.summary.failed ? ` · ${series.summary.failed} slice(s) could not be classified` : ''}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
