/**
 * The session's history as CSV and JSON files (one row per classified slice), and the browser download. A declined
 * slice has its reason in `out_of_range` and no top class or probabilities.
 */
import type { HistoryEntry } from '../services/ClassificationService';

const BASE_COLUMNS = [
  'time',
  'source',
  'study_instance_uid',
  'series_instance_uid',
  'sop_instance_uid',
  'frame',
  'slice',
  'file',
  'top_class',
  'out_of_range',
  'model_version',
  'backend',
  'ms',
  'series',
] as const;

/**
 * Text that a spreadsheet would run as a formula (=, +, -, @ first, or a leading tab / carriage return that it
 * strips before looking) gets a leading apostrophe, so it is shown as text (OWASP "CSV injection"). Only text
 * cells: numbers are written as numbers.
 */
export function neutralizeFormula(s: string): string {
  return /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
}

/** RFC 4180 quoting: fields with a comma, quote or newline are quoted, quotes doubled; text cells neutralized. */
export function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? neutralizeFormula(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function historyToCsv(history: HistoryEntry[]): string {
  const classes = history[0]?.classes ?? ['glioma', 'meningioma', 'notumor', 'pituitary'];
  const header = [...BASE_COLUMNS, ...classes.map((c) => `p_${c}`)];
  const rows = history.map((h) => {
    // A row from a model with other classes gets its probabilities by name, never by position.
    const p = classes.map((c) => {
      const i = h.classes.indexOf(c);
      return i >= 0 && !h.outOfRange && i < h.probabilities.length ? roundP(h.probabilities[i]) : '';
    });
    return [
      h.at,
      h.source,
      h.studyInstanceUID,
      h.seriesInstanceUID,
      h.sopInstanceUID,
      h.frame,
      h.slice ?? '',
      h.file ?? '',
      h.top,
      h.outOfRange ?? '',
      h.modelVersion,
      h.backend,
      roundMs(h.ms),
      h.series ?? '',
      ...p,
    ];
  });
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n') + '\r\n';
}

/** Exported numbers: probabilities to 4 decimals, times to 0.1 ms (more digits are noise, not information). */
export const roundP = (p: number) => Math.round(p * 1e4) / 1e4;
export const roundMs = (ms: number) => Math.round(ms * 10) / 10;

export function historyToJson(history: HistoryEntry[]): string {
  const classifications = history.map((h) => ({ ...h, probabilities: h.probabilities.map(roundP), ms: roundMs(h.ms) }));
  return (
    JSON.stringify(
      { format: 'ssclnet-classifications', version: 1, exported: new Date().toISOString(), classifications },
      null,
      2,
    ) + '\n'
  );
}

/** Offers `content` (text or bytes) as a file download (browser only). */
export function download(name: string, content: string | ArrayBuffer, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Long enough for a large file (an SR of a whole series) to be handed to the browser's download.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
