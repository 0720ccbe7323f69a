/** This session's classifications: a count, the last few, and CSV / JSON export. */
import React from 'react';
import type { HistoryEntry } from './controller';
import { download, historyToCsv, historyToJson } from './exportHistory';

const button = { background: '#1f5f8b', color: '#fff', border: 'none', borderRadius: '4px', padding: '4px 10px', cursor: 'pointer', marginRight: '6px' } as const;

export function HistoryView({ history }: { history: HistoryEntry[] }) {
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');
  return (
    <div style={{ borderTop: '1px solid #2c3b53', paddingTop: '8px', marginTop: '8px' }} data-testid="ssclnet-history">
      <div><span style={{ color: '#8ea3bd' }}>History</span> <span data-testid="ssclnet-history-count">{history.length}</span> classification(s)</div>
      <ul style={{ margin: '4px 0', paddingLeft: '16px', fontSize: '11px' }}>
        {history.slice(-5).reverse().map((h, i) => (
          <li key={i}>{h.slice !== null ? `slice ${h.slice}` : h.file}: {h.top} {(h.probabilities[h.classes.indexOf(h.top)] * 100).toFixed(1)}% · {h.modelVersion}</li>
        ))}
      </ul>
      <button type="button" style={{ ...button, opacity: history.length ? 1 : 0.5 }} disabled={!history.length} data-testid="ssclnet-export-csv"
        onClick={() => download(`ssclnet-classifications-${stamp()}.csv`, historyToCsv(history), 'text/csv')}>Export CSV</button>
      <button type="button" style={{ ...button, opacity: history.length ? 1 : 0.5 }} disabled={!history.length} data-testid="ssclnet-export-json"
        onClick={() => download(`ssclnet-classifications-${stamp()}.json`, historyToJson(history), 'application/json')}>Export JSON</button>
    </div>
  );
}
