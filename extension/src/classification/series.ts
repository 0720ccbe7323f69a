/**
 * Whole-series classification: every slice of the displayed series in order, with progress, cancellation and a
 * cache keyed by SOP instance + frame + model version (so re-running, or scrolling with the overlay on, costs
 * nothing, and a model switch never reuses another model's numbers). Host access is injected: `load` turns a
 * slice index into pixels, so the loop is tested in Node on real DICOM.
 */
import type { Classification, RawSlice } from '../inference/types';
import type { SliceIdentity } from './displayedSlice';

export interface SeriesSlice {
  raw: RawSlice;
  identity: SliceIdentity;
}

export interface SliceOutcome {
  index: number;
  identity: SliceIdentity | null;
  classification: Classification | null;
  error: string | null;
}

export interface SeriesSummary {
  /** Highest probability of any tumour class (1 - p(notumor)), and where. */
  maxTumor: number;
  maxTumorSlice: number;
  maxTumorClass: string;
  classified: number;
  failed: number;
}

export function cacheKey(identity: Pick<SliceIdentity, 'sopInstanceUID' | 'frame'>, modelVersion: string): string {
  return `${identity.sopInstanceUID}|${identity.frame}|${modelVersion}`;
}

export interface SeriesRunOptions {
  count: number;
  modelVersion: string;
  load: (index: number) => Promise<SeriesSlice>;
  classify: (raw: RawSlice) => Promise<Classification>;
  cache: Map<string, Classification>;
  onProgress?: (done: number, outcomes: SliceOutcome[]) => void;
  isCancelled?: () => boolean;
}

/** Runs the series; returns the outcomes so far (fewer than `count` when cancelled). */
export async function classifySeries(o: SeriesRunOptions): Promise<{ outcomes: SliceOutcome[]; cancelled: boolean }> {
  const outcomes: SliceOutcome[] = [];
  for (let index = 0; index < o.count; index++) {
    if (o.isCancelled?.()) return { outcomes, cancelled: true };
    let outcome: SliceOutcome;
    try {
      const slice = await o.load(index);
      const key = cacheKey(slice.identity, o.modelVersion);
      let c = slice.identity.sopInstanceUID ? o.cache.get(key) : undefined;
      if (!c) {
        c = await o.classify(slice.raw);
        if (c.modelVersion !== o.modelVersion) throw new Error(`result from model ${c.modelVersion}, expected ${o.modelVersion}`);
        if (slice.identity.sopInstanceUID) o.cache.set(key, c);
      }
      outcome = { index, identity: slice.identity, classification: c, error: null };
    } catch (e) {
      outcome = { index, identity: null, classification: null, error: e instanceof Error ? e.message : String(e) };
    }
    outcomes.push(outcome);
    o.onProgress?.(outcomes.length, outcomes);
  }
  return { outcomes, cancelled: false };
}

export const NO_TUMOR = 'notumor';

export function summarize(outcomes: SliceOutcome[]): SeriesSummary | null {
  let best: SeriesSummary | null = null;
  let classified = 0;
  for (const o of outcomes) {
    const c = o.classification;
    if (!c) continue;
    classified++;
    const none = c.classes.indexOf(NO_TUMOR);
    const tumor = none >= 0 ? 1 - c.probabilities[none] : Math.max(...c.probabilities);
    if (!best || tumor > best.maxTumor) {
      let cls = -1;
      c.probabilities.forEach((p, i) => {
        if (i !== none && (cls < 0 || p > c.probabilities[cls])) cls = i;
      });
      best = { maxTumor: tumor, maxTumorSlice: o.index, maxTumorClass: c.classes[cls], classified: 0, failed: 0 };
    }
  }
  if (!best) return null;
  return { ...best, classified, failed: outcomes.length - classified };
}
