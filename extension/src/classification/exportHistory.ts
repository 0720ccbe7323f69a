/** The session's history as CSV and JSON files (one row per classified slice), and the browser download. */
import type { HistoryEntry } from './controller';

const BASE_COLUMNS = ['time', 'source', 'study_instance_uid', 'series_instance_uid', 'sop_instance_uid', 'frame', 'slice', 'file', 'top_class', 'model_version', 'backend', 'ms'] as const;

/** RFC 4180 quoting: fields with a comma, quote or newline are quoted, quotes doubled. */
function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function historyToCsv(history: HistoryEntry[]): string {
  const classes = history[0]?.classes ?? ['glioma', 'meningioma', 'notumor', 'pituitary'];
  const header = [...BASE_COLUMNS, ...classes.map((c) => `p_${c}`)];
  const rows = history.map((h) => {
    // A row from a model with other classes gets its probabilities by name, never by position.
    const p = classes.map((c) => {
      const i = h.classes.indexOf(c);
      return i >= 0 ? h.probabilities[i] : '';
    });
    return [h.at, h.source, h.studyInstanceUID, h.seriesInstanceUID, h.sopInstanceUID, h.frame, h.slice ?? '', h.file ?? '', h.top, h.modelVersion, h.backend, h.ms.toFixed(1), ...p];
  });
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function historyToJson(history: HistoryEntry[]): string {
  return JSON.stringify({ format: 'ssclnet-classifications', version: 1, exported: new Date().toISOString(), classifications: history }, null, 2) + '\n';
}

/** Offers `text` as a file download (browser only). */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
