/**
 * Whole-series classification: every slice of the displayed series in order, with progress, cancellation and a
 * cache keyed by SOP instance + frame + model version (so re-running, or scrolling with the overlay on, costs
 * nothing, and a model switch never reuses another model's numbers). The next slice is read while the engine
 * classifies the current one. Host access is injected (`load` turns a slice index into pixels + attributes), so
 * the loop is tested in Node on real DICOM.
 */
import type { RawSlice } from '../inference/types';
import type { DicomAttributes, Result } from '../engine/types';
import type { SeriesSlice, SliceIdentity } from './displayedSlice';

export type { SeriesSlice };

export interface SliceOutcome {
  index: number;
  identity: SliceIdentity | null;
  classification: Result | null;
  error: string | null;
}

export function cacheKey(identity: Pick<SliceIdentity, 'sopInstanceUID' | 'frame'>, modelVersion: string): string {
  return `${identity.sopInstanceUID}|${identity.frame}|${modelVersion}`;
}

export interface SeriesRunOptions {
  count: number;
  modelVersion: string;
  load: (index: number) => Promise<SeriesSlice>;
  classify: (raw: RawSlice, attributes: DicomAttributes | null) => Promise<Result>;
  cache: Map<string, Result>;
  onProgress?: (done: number, outcomes: SliceOutcome[]) => void;
  isCancelled?: () => boolean;
}

type Loaded = { ok: true; slice: SeriesSlice } | { ok: false; error: unknown };

/** Runs the series; returns the outcomes so far (fewer than `count` when cancelled). */
export async function classifySeries(o: SeriesRunOptions): Promise<{ outcomes: SliceOutcome[]; cancelled: boolean }> {
  const outcomes: SliceOutcome[] = [];
  const read = (i: number): Promise<Loaded> =>
    o.load(i).then(
      (slice) => ({ ok: true as const, slice }),
      (error) => ({ ok: false as const, error }),
    );
  let next: Promise<Loaded> | null = o.count > 0 ? read(0) : null;
  for (let index = 0; index < o.count; index++) {
    if (o.isCancelled?.()) return { outcomes, cancelled: true };
    const loaded = await next!;
    next = index + 1 < o.count ? read(index + 1) : null;
    let outcome: SliceOutcome;
    try {
      if (!loaded.ok) throw loaded.error;
      const { slice } = loaded;
      const key = cacheKey(slice.identity, o.modelVersion);
      let c = slice.identity.sopInstanceUID ? o.cache.get(key) : undefined;
      if (!c) {
        c = await o.classify(slice.raw, slice.attributes);
        if (c.modelVersion !== o.modelVersion)
          throw new Error(`result from model ${c.modelVersion}, expected ${o.modelVersion}`);
        if (slice.identity.sopInstanceUID) o.cache.set(key, c);
      }
      outcome = { index, identity: slice.identity, classification: c, error: null };
    } catch (e) {
      outcome = {
        index,
        identity: loaded.ok ? loaded.slice.identity : null,
        classification: null,
        error: e instanceof Error ? e.message : String(e),
      };
    }
    outcomes.push(outcome);
    o.onProgress?.(outcomes.length, outcomes);
  }
  return { outcomes, cancelled: false };
}
