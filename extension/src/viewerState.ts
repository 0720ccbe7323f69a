/**
 * What the panel shows about the displayed image, as plain data: no OHIF or Cornerstone imports, so the
 * rules (slice numbering, series labels, when a change is a change) are testable in Node.
 */

export interface SeriesInfo {
  description: string;
  number: number | null;
  modality: string;
}

export interface SliceInfo {
  /** 0-based index of the displayed slice within its series. */
  index: number;
  count: number;
}

export type ViewerState =
  | { kind: 'waiting' }
  | { kind: 'empty'; viewportId: string }
  | { kind: 'showing'; viewportId: string; series: SeriesInfo | null; slice: SliceInfo };

export const WAITING: ViewerState = { kind: 'waiting' };

/** The subset of an OHIF display set the panel reads (field names as OHIF's stack SOP class handler sets them). */
export interface DisplaySetLike {
  SeriesDescription?: unknown;
  SeriesNumber?: unknown;
  Modality?: unknown;
}

export function seriesFromDisplaySet(ds: DisplaySetLike | null | undefined): SeriesInfo | null {
  if (!ds) return null;
  const n = Number(ds.SeriesNumber);
  const description = typeof ds.SeriesDescription === 'string' ? ds.SeriesDescription.trim() : '';
  return {
    description: description || '(no description)',
    number:
      ds.SeriesNumber === undefined || ds.SeriesNumber === null || ds.SeriesNumber === '' || !Number.isFinite(n)
        ? null
        : n,
    modality: typeof ds.Modality === 'string' ? ds.Modality : '',
  };
}

/** A slice position, or null when the numbers cannot describe one (no images, index out of range). */
export function sliceInfo(index: unknown, count: unknown): SliceInfo | null {
  if (typeof index !== 'number' || typeof count !== 'number') return null;
  if (!Number.isInteger(index) || !Number.isInteger(count) || count < 1 || index < 0 || index >= count) return null;
  return { index, count };
}

/** "k / n" with k counted from 1, as radiologists number slices. */
export function formatSlice(slice: SliceInfo): string {
  return `${slice.index + 1} / ${slice.count}`;
}

export function formatSeries(series: SeriesInfo | null): string {
  if (!series) return 'unknown series';
  const number = series.number === null ? '' : `#${series.number} `;
  return `${number}${series.description}`;
}

/**
 * Why the displayed series is not one the classifier is for, or null. The study list only offers the mode for
 * studies with MR, but a route can still name any study, and a study can mix modalities.
 */
export function modalityWarning(series: SeriesInfo | null): string | null {
  if (!series || !series.modality || series.modality.toUpperCase() === 'MR') return null;
  return `Brain MRI classification needs an MR series; this series is ${series.modality}`;
}

export function sameState(a: ViewerState, b: ViewerState): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'waiting' || b.kind === 'waiting') return true;
  if (a.viewportId !== b.viewportId) return false;
  if (a.kind === 'empty' || b.kind === 'empty') return true;
  const sa = a.series,
    sb = b.series;
  const sameSeries =
    sa === sb ||
    (!!sa && !!sb && sa.description === sb.description && sa.number === sb.number && sa.modality === sb.modality);
  return sameSeries && a.slice.index === b.slice.index && a.slice.count === b.slice.count;
}
