/** Report slices from the viewer's outcomes; no dcmjs here, so the extension bundle can use it without carrying dcmjs. */
import type { SliceResult } from './types';

/**
 * The viewer's whole-series outcomes (extension/src/classification/series.ts `SliceOutcome`: 0-based `identity.frame`)
 * as report slices (1-based frames; the frame is dropped for single-frame instances by buildClassificationSR).
 */
export function slicesFromOutcomes(
  outcomes: {
    index: number;
    identity: { sopInstanceUID: string; frame: number } | null;
    classification: SliceResult['classification'];
    error?: string | null;
  }[],
): SliceResult[] {
  return outcomes.map((o) => ({
    index: o.index,
    sopInstanceUID: o.identity?.sopInstanceUID ?? '',
    frame: o.identity ? o.identity.frame + 1 : null,
    classification: o.identity?.sopInstanceUID ? o.classification : null,
    error: o.error ?? (o.identity?.sopInstanceUID ? null : 'no SOP Instance UID'),
  }));
}
