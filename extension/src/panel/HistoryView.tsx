/**
 * This session's classifications: one row per instance + frame + model version (re-classifying updates the row),
 * newest first, every row reachable (the list scrolls in its own box), each naming series and slice; a click shows
 * that slice. CSV / JSON export run as commands.
 */
import React from 'react';
import type { HistoryEntry } from '../services/ClassificationService';
import { COMMANDS } from '../id';
import { colors, secondaryButtonStyle } from './styles';
import { className, percent } from './labels';
import type { Run } from './PanelView';

export function where(h: HistoryEntry): string {
  if (h.slice === null) return h.file ?? 'file';
  return `${h.series ? `${h.series}, ` : ''}slice ${h.slice}`;
}

function outcome(h: HistoryEntry): string {
  if (h.outOfRange) return `outside the model's range: ${h.outOfRange}`;
  const i = h.classes.indexOf(h.top);
  return `${className(h.top)} ${i >= 0 ? percent(h.probabilities[i]) : ''}`;
}

export function HistoryView({
  history,
  run,
  currentVersion,
}: {
  history: HistoryEntry[];
  run: Run;
  currentVersion?: string | null;
}) {
  const rows = [...history].reverse();
  return (
    <div data-testid="ssclnet-history">
      <div style={{ color: colors.muted, fontSize: '12px' }}>
        <span data-testid="ssclnet-history-count">{history.length}</span> classification(s) this session
      </div>
      {rows.length ? (
        <ul
          data-testid="ssclnet-history-list"
          style={{
            listStyle: 'none',
            margin: '4px 0',
            padding: 0,
            maxHeight: '180px',
            overflowY: 'auto',
            border: `1px solid ${colors.border}`,
            borderRadius: '4px',
          }}
        >
          {rows.map((h) => {
            const canShow = !!h.sopInstanceUID;
            const text = `${where(h)}: ${outcome(h)}${currentVersion && h.modelVersion !== currentVersion ? ` · model ${h.modelVersion}` : ''}`;
            return (
              <li
                key={`${h.sopInstanceUID || h.file}|${h.frame}|${h.modelVersion}`}
                style={{ borderBottom: `1px solid ${colors.track}` }}
              >
                <button
                  type="button"
                  data-testid="ssclnet-history-row"
                  data-sop={h.sopInstanceUID}
                  data-slice={h.slice ?? ''}
                  data-declined={h.outOfRange ? 'true' : 'false'}
                  disabled={!canShow}
                  title={canShow ? 'Show this slice' : undefined}
                  onClick={() => run(COMMANDS.showHistoryEntry, { entry: h })}
                  style={{
                    display: 'block',
                    width: '100%',
                    textAlign: 'left',
                    background: 'none',
                    border: 'none',
                    padding: '3px 6px',
                    fontSize: '11px',
                    cursor: canShow ? 'pointer' : 'default',
                    color: h.outOfRange ? colors.declined : colors.text,
                  }}
                >
                  {text}
                </button>
              </li>
            );
          })}
        </ul>
      ) : null}
      <button
        type="button"
        style={secondaryButtonStyle(!!history.length)}
        disabled={!history.length}
        data-testid="ssclnet-export-csv"
        onClick={() => run(COMMANDS.exportHistory, { format: 'csv' })}
      >
        Export CSV
      </button>
      <button
        type="button"
        style={secondaryButtonStyle(!!history.length)}
        disabled={!history.length}
        data-testid="ssclnet-export-json"
        onClick={() => run(COMMANDS.exportHistory, { format: 'json' })}
      >
        Export JSON
      </button>
    </div>
  );
}
