/** Whole-series UI: run / cancel with progress, a per-slice strip (click shows the slice), the counts summary. */
import React from 'react';
import type { SeriesState } from '../services/ClassificationService';
import { COMMANDS } from '../id';
import { CLASS_COLORS, buttonStyle, colors, secondaryButtonStyle, styles } from './styles';
import { className } from './labels';
import { ProgressBar } from './ui';
import type { Run } from './PanelView';

type SeriesRun = Extract<SeriesState, { outcomes: unknown }>;

function cellTitle(i: number, o: SeriesRun['outcomes'][number] | undefined): string {
  const c = o?.classification;
  if (c?.outOfRange) return `slice ${i + 1}: outside the model's range: ${c.outOfRange.reason}`;
  if (c)
    return `slice ${i + 1}: ${c.classes.map((k, j) => `${className(k)} ${(c.probabilities[j] * 100).toFixed(1)}%`).join(', ')}`;
  return o?.error ? `slice ${i + 1}: ${o.error}` : `slice ${i + 1}: not classified`;
}

export function SeriesStrip({ series, current, run }: { series: SeriesRun; current: number | null; run: Run }) {
  const cells = Array.from({ length: series.total }, (_, i) => series.outcomes[i]);
  return (
    <div
      data-testid="ssclnet-strip"
      style={{ display: 'flex', height: '48px', gap: '1px', marginTop: '6px', alignItems: 'stretch' }}
    >
      {cells.map((o, i) => {
        const c = o?.classification;
        const declined = !!c?.outOfRange;
        return (
          <div
            key={i}
            data-testid="ssclnet-strip-cell"
            data-slice={i}
            data-declined={declined ? 'true' : 'false'}
            title={cellTitle(i, o)}
            onClick={() => run(COMMANDS.showSlice, { index: i })}
            style={{
              flex: 1,
              display: 'flex',
              flexDirection: 'column-reverse',
              cursor: 'pointer',
              background: o?.error ? '#5a2a2a' : declined ? colors.declined : colors.track,
              outline: current === i ? '1px solid #fff' : 'none',
            }}
          >
            {c && !declined
              ? c.probabilities.map((p, j) => (
                  <div key={j} style={{ height: `${p * 100}%`, background: CLASS_COLORS[j % CLASS_COLORS.length] }} />
                ))
              : null}
          </div>
        );
      })}
    </div>
  );
}

export function SeriesView({
  series,
  ready,
  current,
  classes,
  run,
}: {
  series: SeriesState;
  ready: boolean;
  current: number | null;
  classes: string[];
  run: Run;
}) {
  const running = series.kind === 'running';
  return (
    <div data-testid="ssclnet-series-panel">
      <button
        type="button"
        style={buttonStyle(ready && !running, { marginTop: 0 })}
        disabled={!ready || running}
        onClick={() => run(COMMANDS.classifySeries)}
        data-testid="ssclnet-classify-series"
        title="Classify every slice of the displayed series (Shift+K)"
      >
        Classify series
      </button>
      {running ? (
        <button
          type="button"
          style={secondaryButtonStyle(true, { marginTop: 0 })}
          onClick={() => run(COMMANDS.cancel)}
          data-testid="ssclnet-cancel-series"
        >
          Cancel
        </button>
      ) : null}
      {series.kind === 'failed' ? (
        <div style={styles.error} data-testid="ssclnet-series-error">
          {series.message}
        </div>
      ) : null}
      {series.kind === 'running' || series.kind === 'done' || series.kind === 'cancelled' ? (
        <div>
          {/* The bar shows progress while the run goes; when it ends the status line (and the strip) say how it ended. */}
          {series.kind === 'running' ? (
            <ProgressBar done={series.done} total={series.total} state={series.kind} testId="ssclnet-progress" />
          ) : null}
          <div data-testid="ssclnet-series-status" style={{ marginTop: '4px' }}>
            {series.kind === 'running'
              ? `Classifying ${series.done} / ${series.total}…`
              : series.kind === 'cancelled'
                ? `Cancelled after ${series.done} / ${series.total}`
                : `${series.done} / ${series.total} slices classified`}
          </div>
          <SeriesStrip series={series} current={current} run={run} />
          <div style={{ display: 'flex', flexWrap: 'wrap', gap: '8px', fontSize: '11px', marginTop: '4px' }}>
            {classes.map((k, j) => (
              <span key={k}>
                <span
                  style={{
                    display: 'inline-block',
                    width: '8px',
                    height: '8px',
                    background: CLASS_COLORS[j % CLASS_COLORS.length],
                    marginRight: '3px',
                  }}
                />
                {className(k)}
              </span>
            ))}
            <span>
              <span
                style={{
                  display: 'inline-block',
                  width: '8px',
                  height: '8px',
                  background: colors.declined,
                  marginRight: '3px',
                }}
              />
              Outside the model&apos;s range
            </span>
          </div>
          {series.summary ? (
            <div
              data-testid="ssclnet-series-summary"
              data-tumour={series.summary.counts.claimsTumour ? 'true' : 'false'}
              data-declined={series.summary.counts.declined}
              style={{ marginTop: '4px' }}
            >
              {series.summary.text}
            </div>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}
