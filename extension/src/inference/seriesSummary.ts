/**
 * The whole-series summary, one rule for the viewer's series view and the Node series benchmark (pure).
 *
 * Counts per outcome (declined by reason, no tumour, each tumour class, unreadable) and the tumour calls with their
 * slice ranges. A series "claims a tumour" when at least 2 ADJACENT in-range slices are called the same tumour
 * class; a tumour call on one slice whose neighbours say otherwise (or were declined) is reported as isolated and
 * does not make the series claim a tumour. Slices are given in series order; `index` is 0-based, the text uses
 * 1-based slice numbers ("slices 6–8").
 */
import type { Classification } from './types';

/** The class that means "no tumour" in the project's cards. */
export const NO_TUMOUR_CLASS = 'notumor';

export interface SeriesSlice {
  /** Position in the series, 0-based; adjacency is index and index + 1. */
  index: number;
  /** null while not classified or when it could not be read (see `error`). */
  classification: Classification | null;
  error?: string | null;
}

export interface TumourRun {
  label: string;
  /** 1-based slice numbers, inclusive. */
  from: number;
  to: number;
  count: number;
  /** A single slice between slices that are not the same tumour call. */
  isolated: boolean;
}

export interface SeriesSummary {
  slices: number;
  /** Classified and inside the model's range. */
  inRange: number;
  declined: number;
  /** Declined slices by short reason ("not an axial slice", "a localiser image", ...). */
  declinedByReason: Record<string, number>;
  unreadable: number;
  unreadableByReason: Record<string, number>;
  /** Slices neither classified nor failed (e.g. a cancelled run). */
  pending: number;
  /** In-range slices per class (every class of the model, zeros included, in the model's order). */
  calls: Record<string, number>;
  /** In-range slices called a tumour (any class other than `noTumour`). */
  tumourSlices: number;
  /** Maximal runs of adjacent in-range slices with the same tumour call, in slice order. */
  runs: TumourRun[];
  /** At least one run of 2 or more slices. */
  claimsTumour: boolean;
}

/** The reason without its parenthesised detail: "not an axial slice (sagittal, 88° from axial)" -> "not an axial slice". */
export function shortReason(reason: string): string {
  return reason.replace(/\s*\(.*\)\s*$/, '').trim() || reason;
}

export function summariseSeries(
  slices: SeriesSlice[],
  options: { classes?: string[]; noTumour?: string } = {},
): SeriesSummary {
  const noTumour = options.noTumour ?? NO_TUMOUR_CLASS;
  const ordered = [...slices].sort((a, b) => a.index - b.index);
  const classes = options.classes ?? ordered.find((s) => s.classification)?.classification?.classes ?? [];
  const calls: Record<string, number> = Object.fromEntries(classes.map((c) => [c, 0]));
  const declinedByReason: Record<string, number> = {};
  const unreadableByReason: Record<string, number> = {};
  let inRange = 0;
  let declined = 0;
  let unreadable = 0;
  let pending = 0;
  const runs: TumourRun[] = [];
  let open: { label: string; from: number; to: number; lastIndex: number } | null = null;
  const close = (): void => {
    if (open)
      runs.push({
        label: open.label,
        from: open.from,
        to: open.to,
        count: open.to - open.from + 1,
        isolated: open.to === open.from,
      });
    open = null;
  };
  for (const s of ordered) {
    const c = s.classification;
    if (!c) {
      close();
      if (s.error) {
        unreadable++;
        const k = shortReason(s.error);
        unreadableByReason[k] = (unreadableByReason[k] ?? 0) + 1;
      } else pending++;
      continue;
    }
    if (c.outOfRange) {
      close();
      declined++;
      const k = shortReason(c.outOfRange.reason);
      declinedByReason[k] = (declinedByReason[k] ?? 0) + 1;
      continue;
    }
    inRange++;
    const label = c.top.label;
    calls[label] = (calls[label] ?? 0) + 1;
    if (label === noTumour) {
      close();
      continue;
    }
    const n = s.index + 1;
    if (open && open.label === label && open.lastIndex === s.index - 1) {
      open.to = n;
      open.lastIndex = s.index;
    } else {
      close();
      open = { label, from: n, to: n, lastIndex: s.index };
    }
  }
  close();
  const tumourSlices = Object.entries(calls).reduce((a, [k, v]) => a + (k === noTumour ? 0 : v), 0);
  return {
    slices: ordered.length,
    inRange,
    declined,
    declinedByReason,
    unreadable,
    unreadableByReason,
    pending,
    calls,
    tumourSlices,
    runs,
    claimsTumour: runs.some((r) => r.count >= 2),
  };
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

function reasons(byReason: Record<string, number>): string {
  const entries = Object.entries(byReason).sort((a, b) => b[1] - a[1]);
  if (entries.length === 1) return entries[0][0];
  return entries.map(([k, v]) => `${v} ${k}`).join(', ');
}

/**
 * One line, e.g. "22 slices: 4 declined (not an axial slice), 15 no tumour, 3 meningioma (slices 6–8)";
 * isolated calls say so: "1 glioma (slice 12, isolated)".
 */
export function formatSeriesSummary(
  s: SeriesSummary,
  options: { noTumour?: string; noTumourText?: string } = {},
): string {
  const noTumour = options.noTumour ?? NO_TUMOUR_CLASS;
  const parts: string[] = [];
  if (s.declined) parts.push(`${s.declined} declined (${reasons(s.declinedByReason)})`);
  if (s.unreadable) parts.push(`${s.unreadable} unreadable (${reasons(s.unreadableByReason)})`);
  if (s.calls[noTumour]) parts.push(`${s.calls[noTumour]} ${options.noTumourText ?? 'no tumour'}`);
  for (const [label, count] of Object.entries(s.calls)) {
    if (label === noTumour || !count) continue;
    const where = s.runs
      .filter((r) => r.label === label)
      .map((r) => (r.isolated ? `slice ${r.from}, isolated` : `slices ${r.from}–${r.to}`))
      .join('; ');
    parts.push(`${count} ${label} (${where})`);
  }
  if (s.pending) parts.push(`${s.pending} not classified`);
  return `${plural(s.slices, 'slice')}: ${parts.join(', ') || 'nothing classified'}`;
}
