/** This session's classifications: a count, the last few, and CSV / JSON export (run as commands). */
import React from 'react';
import type { HistoryEntry } from '../services/ClassificationService';
import { COMMANDS } from '../id';
import { buttonStyle, colors, styles } from './styles';
import type { Run } from './PanelView';

function line(h: HistoryEntry): string {
  const where = h.slice !== null ? `slice ${h.slice}` : h.file;
  if (h.outOfRange) return `${where}: outside the model's range: ${h.outOfRange} · ${h.modelVersion}`;
  return `${where}: ${h.top} ${(h.probabilities[h.classes.indexOf(h.top)] * 100).toFixed(1)}% · ${h.modelVersion}`;
}

export function HistoryView({ history, run }: { history: HistoryEntry[]; run: Run }) {
  return (
    <div style={styles.section} data-testid="ssclnet-history">
      <div><span style={{ color: colors.muted }}>History</span> <span data-testid="ssclnet-history-count">{history.length}</span> classification(s)</div>
      <ul style={{ margin: '4px 0', paddingLeft: '16px', fontSize: '11px' }}>
        {history.slice(-5).reverse().map((h, i) => (
          <li key={i} data-declined={h.outOfRange ? 'true' : 'false'} style={h.outOfRange ? { color: colors.declined } : undefined}>{line(h)}</li>
        ))}
      </ul>
      <button type="button" style={buttonStyle(!!history.length)} disabled={!history.length} data-testid="ssclnet-export-csv" onClick={() => run(COMMANDS.exportHistory, { format: 'csv' })}>Export CSV</button>
      <button type="button" style={buttonStyle(!!history.length)} disabled={!history.length} data-testid="ssclnet-export-json" onClick={() => run(COMMANDS.exportHistory, { format: 'json' })}>Export JSON</button>
    </div>
  );
}
