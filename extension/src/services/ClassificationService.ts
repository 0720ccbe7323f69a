/**
 * The classification service (`servicesManager.services.ssclnetClassificationService`): classifies the displayed
 * slice, a whole series or a dropped file with the model service's model (in its inference engine), caches results
 * by SOP Instance UID + frame + model version, drops stale results (a newer request, a slice change, a model
 * switch), follows the active viewport for auto mode, and keeps the session's history. It announces what happens
 * as events (started, progress, result, out-of-range, error, cancelled) and every state change; views render its
 * state and send intent back through the extension's commands.
 */
import type { FilePreview, Result } from '../engine/types';
import type { SliceIdentity, DisplayedSlice } from '../classification/displayedSlice';
import { cacheKey, classifySeries, type SliceOutcome } from '../classification/series';
import { formatSeriesSummary, summariseSeries, type SeriesSummary } from '../inference/seriesSummary';
import { overlayTextFor } from '../classification/overlay';
import { WAITING, type ViewerState } from '../viewerState';
import type { ViewerHost } from '../host/ohifHost';
import type { ModelService } from './ModelService';
import { PubSubService, serviceRegistration } from './pubsub';

/** A series run's counts (the inference module's summary rule, shared with the Node series benchmark) and its line. */
export interface SeriesSummaryView {
  counts: SeriesSummary;
  text: string;
}

/** Counts for a run's outcomes; slices a cancelled run did not reach count as not classified. */
export function seriesSummary(outcomes: SliceOutcome[], total: number, classes?: string[]): SeriesSummaryView {
  const slices = Array.from(
    { length: Math.max(total, outcomes.length) },
    (_, i) => outcomes[i] ?? { index: i, classification: null, error: null },
  );
  const counts = summariseSeries(slices, classes?.length ? { classes } : {});
  return { counts, text: formatSeriesSummary(counts) };
}

/** A run read back from a stored SR (prior result), shown without running the model. */
export interface StoredRun {
  sopInstanceUID: string;
  /** "YYYY-MM-DDTHH:MM:SS" of the SR's content, or ''. */
  contentDateTime: string;
  modelVersion: string;
}

export type SeriesState =
  | { kind: 'idle' }
  | {
      kind: 'running' | 'done' | 'cancelled';
      viewportId: string;
      seriesInstanceUID: string;
      total: number;
      done: number;
      outcomes: SliceOutcome[];
      summary: SeriesSummaryView | null;
      modelVersion: string;
      stored?: StoredRun;
    }
  | { kind: 'failed'; message: string };

/** One line of the session's history (what the export writes). */
export interface HistoryEntry {
  at: string;
  source: 'slice' | 'series' | 'file';
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  frame: number;
  /** 1-based, as shown; null for a dropped file. */
  slice: number | null;
  /** The series as the panel names it ("#6 AX FSE T2"), when known. */
  series?: string;
  file?: string;
  classes: string[];
  /** Empty when the slice was declined before inference. */
  probabilities: number[];
  /** '' when declined. */
  top: string;
  /** Why the model declined the slice ("outside the model's range"), or null. */
  outOfRange: string | null;
  modelVersion: string;
  backend: string;
  ms: number;
}

export interface SliceResult {
  classification: Result;
  identity: SliceIdentity | null;
  /** ISO time the result was produced. */
  at: string;
}

export interface ClassificationState {
  /** What the active viewport shows (while a view tracks it). */
  viewer: ViewerState;
  busy: boolean;
  result: SliceResult | null;
  error: string | null;
  /** Classify on every slice change (debounced). */
  auto: boolean;
  /** Show the result on the viewport. */
  overlay: boolean;
  series: SeriesState;
  history: HistoryEntry[];
  /** A dropped local file's result (no study), kept apart from the displayed slice's. */
  /** A dropped file's answer; `preview` is what the model saw of it (its preprocessed input, for the thumbnail). */
  file: { name: string; classification: Result | null; error: string | null; preview?: FilePreview | null } | null;
}

export interface ClassificationServiceOptions {
  modelService: ModelService;
  host: ViewerHost;
  autoDebounceMs?: number;
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

function historyEntry(
  source: HistoryEntry['source'],
  c: Result,
  id: SliceIdentity | null,
  at: string,
  file?: string,
  series?: string,
): HistoryEntry {
  return {
    at,
    source,
    file,
    ...(series ? { series } : {}),
    studyInstanceUID: id?.studyInstanceUID ?? '',
    seriesInstanceUID: id?.seriesInstanceUID ?? '',
    sopInstanceUID: id?.sopInstanceUID ?? '',
    frame: id?.frame ?? 0,
    slice: id ? id.sliceIndex + 1 : null,
    classes: c.classes,
    probabilities: c.outOfRange ? [] : c.probabilities,
    top: c.outOfRange ? '' : c.top.label,
    outOfRange: c.outOfRange ? c.outOfRange.reason : null,
    modelVersion: c.modelVersion,
    backend: c.backend,
    ms: c.ms,
  };
}

/** One history row per instance + frame + model version (a dropped file: per name + model version). */
export function historyKey(h: HistoryEntry): string {
  return h.sopInstanceUID
    ? `${h.sopInstanceUID}|${h.frame}|${h.modelVersion}`
    : `file:${h.file ?? ''}|${h.modelVersion}`;
}

/** Adds rows to the history; a row for an instance + frame + model version already there is updated in place. */
export function mergeHistory(history: HistoryEntry[], entries: HistoryEntry[]): HistoryEntry[] {
  const out = [...history];
  const index = new Map(out.map((h, i) => [historyKey(h), i]));
  for (const e of entries) {
    const k = historyKey(e);
    const at = index.get(k);
    if (at === undefined) {
      index.set(k, out.length);
      out.push(e);
    } else out[at] = e;
  }
  return out;
}

/** The series as the panel names it: "#6 AX FSE T2", or what is known of it. */
function seriesLabel(viewer: ViewerState): string | undefined {
  if (viewer.kind !== 'showing' || !viewer.series) return undefined;
  const { number, description } = viewer.series;
  return [number !== null ? `#${number}` : '', description].filter(Boolean).join(' ') || undefined;
}

/** A result the views may show: declined, or probabilities that are finite and sum to 1. */
function checked(c: Result): Result {
  if (c.outOfRange) return c;
  const sum = c.probabilities.reduce((a, b) => a + b, 0);
  if (!c.probabilities.length || !c.probabilities.every(Number.isFinite) || Math.abs(sum - 1) > 1e-3) {
    throw new Error(`the model returned invalid probabilities (sum ${sum})`);
  }
  return c;
}

const sliceKey = (v: ViewerState) =>
  v.kind === 'showing' ? `${v.viewportId}:${v.slice.index}:${v.slice.count}` : v.kind;

/** What the overlay shows on the active viewport: the displayed slice's own result, if there is one. */
export function overlayFor(state: ClassificationState): { viewportId: string; text: string; declined: boolean } | null {
  if (!state.overlay || state.viewer.kind !== 'showing') return null;
  const { viewportId, slice } = state.viewer;
  let shown: Result | null =
    state.result && (!state.result.identity || state.result.identity.sliceIndex === slice.index)
      ? state.result.classification
      : null;
  const series = state.series;
  if (!shown && 'outcomes' in series && series.viewportId === viewportId && series.total === slice.count) {
    shown = series.outcomes[slice.index]?.classification ?? null;
  }
  return shown ? { viewportId, text: overlayTextFor(shown), declined: !!shown.outOfRange } : null;
}

const EVENTS = {
  /** Any change of ClassificationState (views re-render on it). */
  STATE_CHANGED: 'event::ssclnetClassificationService:stateChanged',
  /** { kind: 'slice' | 'series' | 'file', viewportId?, total? } */
  STARTED: 'event::ssclnetClassificationService:started',
  /** Series runs: { done, total, outcome } after each slice. */
  PROGRESS: 'event::ssclnetClassificationService:progress',
  /** A classification within the model's range: { kind, classification, identity }. */
  RESULT: 'event::ssclnetClassificationService:result',
  /** A slice the model declined: { kind, classification, identity, reason }. */
  OUT_OF_RANGE: 'event::ssclnetClassificationService:outOfRange',
  /** { kind, message } */
  ERROR: 'event::ssclnetClassificationService:error',
  /** A series run stopped early: { done, total }. */
  CANCELLED: 'event::ssclnetClassificationService:cancelled',
};

export class ClassificationService extends PubSubService<typeof EVENTS> {
  static EVENTS = EVENTS;

  static REGISTRATION = serviceRegistration(
    'ssclnetClassificationService',
    (configuration: ClassificationServiceOptions) => new ClassificationService(configuration),
  );

  private state: ClassificationState = {
    viewer: WAITING,
    busy: false,
    result: null,
    error: null,
    auto: false,
    overlay: true,
    series: { kind: 'idle' },
    history: [],
    file: null,
  };
  /** Results by SOP instance + frame + model version (see series.cacheKey). */
  readonly cache = new Map<string, Result>();
  /** Incremented per slice request (and on slice change, cancel, model switch): older answers are dropped. */
  private generation = 0;
  /**
   * Requests waiting for the registry re-read that precedes each classification (slice, series): a cancel or a newer
   * request meanwhile drops them. Kept apart from `generation`, which a model switch applied by that very re-read
   * (an administrator's rollback) bumps, and which must not drop the request that triggered it.
   */
  private waiting = { slice: 0, series: 0 };
  private seriesRun = 0;
  /** The run whose progress the state shows (a newer run takes it over; cancelling does not). */
  private seriesOwner = 0;
  private trackers = 0;
  private stopTracking: (() => void) | null = null;
  private autoTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly modelService: ModelService;
  private readonly host: ViewerHost;
  private readonly autoDebounceMs: number;

  constructor(options: ClassificationServiceOptions) {
    super(ClassificationService.EVENTS);
    this.modelService = options.modelService;
    this.host = options.host;
    this.autoDebounceMs = options.autoDebounceMs ?? 250;
    this.modelService.subscribe(this.modelService.EVENTS.MODEL_CHANGED, () => this.onModelChanged());
  }

  getState = (): ClassificationState => this.state;

  private set(patch: Partial<ClassificationState>): void {
    this.state = { ...this.state, ...patch };
    this._broadcastEvent(ClassificationService.EVENTS.STATE_CHANGED, this.state);
  }

  private emitResult(kind: HistoryEntry['source'], classification: Result, identity: SliceIdentity | null): void {
    if (classification.outOfRange)
      this._broadcastEvent(ClassificationService.EVENTS.OUT_OF_RANGE, {
        kind,
        classification,
        identity,
        reason: classification.outOfRange.reason,
      });
    else this._broadcastEvent(ClassificationService.EVENTS.RESULT, { kind, classification, identity });
  }

  private fail(kind: HistoryEntry['source'], text: string): void {
    this._broadcastEvent(ClassificationService.EVENTS.ERROR, { kind, message: text });
  }

  /** The model to classify with, loading the registry's latest first if nothing was loaded yet. */
  private async model() {
    if (!this.modelService.current && this.modelService.getState().status.kind !== 'none')
      await this.modelService.ensureLoaded();
    return this.modelService.current;
  }

  /** Cached result for a slice under the model in use, if any. */
  cached(identity: Pick<SliceIdentity, 'sopInstanceUID' | 'frame'>): Result | undefined {
    const model = this.modelService.current;
    return model && identity.sopInstanceUID ? this.cache.get(cacheKey(identity, model.version)) : undefined;
  }

  /** Classifies the displayed slice of a viewport (the active one by default); a newer request supersedes it. */
  async classifySlice(options: { viewportId?: string } = {}): Promise<SliceResult | null> {
    // An administrator's rollback or withdrawal applies here, at the next classification, before the model is read.
    const request = ++this.waiting.slice;
    await this.modelService.beforeClassification?.();
    if (request !== this.waiting.slice) return null;
    const generation = ++this.generation;
    const model = await this.model();
    if (generation !== this.generation) return null;
    if (!model) {
      this.set({ error: 'No model is loaded', result: null, busy: false });
      this.fail('slice', 'No model is loaded');
      return null;
    }
    let input: DisplayedSlice;
    try {
      input = this.host.readDisplayedSlice(options.viewportId);
    } catch (e) {
      // Nothing from an earlier slice stays on screen as if it described this one.
      this.set({ error: message(e), result: null, busy: false });
      this.fail('slice', message(e));
      return null;
    }
    const identity = input.identity;
    this.set({ busy: true, error: null });
    this._broadcastEvent(ClassificationService.EVENTS.STARTED, {
      kind: 'slice',
      viewportId: input.viewportId,
      identity,
    });
    try {
      const key = identity.sopInstanceUID ? cacheKey(identity, model.version) : null;
      let c = key ? this.cache.get(key) : undefined;
      if (!c) {
        c = checked(await this.modelService.engine.classify({ slice: input.raw, attributes: input.attributes }));
        if (key && c.modelVersion === model.version) this.cache.set(key, c);
      }
      if (generation !== this.generation || c.modelVersion !== this.modelService.current?.version) return null;
      const result: SliceResult = { classification: c, identity, at: new Date().toISOString() };
      this.set({
        busy: false,
        result,
        error: null,
        history: mergeHistory(this.state.history, [
          historyEntry('slice', c, identity, result.at, undefined, seriesLabel(this.state.viewer)),
        ]),
      });
      this.emitResult('slice', c, identity);
      return result;
    } catch (e) {
      if (generation === this.generation) {
        this.set({ busy: false, result: null, error: `Classification failed: ${message(e)}` });
        this.fail('slice', message(e));
      }
      return null;
    }
  }

  /** Classifies every slice of a viewport's series; a second run or cancel() stops the first. */
  async classifySeries(options: { viewportId?: string } = {}): Promise<void> {
    const request = ++this.waiting.series;
    await this.modelService.beforeClassification?.();
    if (request !== this.waiting.series) return;
    const run = ++this.seriesRun;
    this.seriesOwner = run;
    const model = await this.model();
    if (run !== this.seriesRun) return;
    if (!model) {
      this.set({ series: { kind: 'failed', message: 'No model is loaded' } });
      this.fail('series', 'No model is loaded');
      return;
    }
    let src: ReturnType<ViewerHost['seriesSource']>;
    try {
      src = this.host.seriesSource(options.viewportId);
    } catch (e) {
      this.set({ series: { kind: 'failed', message: message(e) } });
      this.fail('series', message(e));
      return;
    }
    const base = {
      viewportId: src.viewportId,
      seriesInstanceUID: src.seriesInstanceUID,
      total: src.count,
      modelVersion: model.version,
      summary: null,
    };
    const label = seriesLabel(this.state.viewer);
    this.set({ series: { kind: 'running', ...base, done: 0, outcomes: [] } });
    this._broadcastEvent(ClassificationService.EVENTS.STARTED, {
      kind: 'series',
      viewportId: src.viewportId,
      total: src.count,
    });
    const { outcomes, cancelled } = await classifySeries({
      count: src.count,
      modelVersion: model.version,
      load: src.load,
      classify: async (raw, attributes) => checked(await this.modelService.engine.classify({ slice: raw, attributes })),
      cache: this.cache,
      isCancelled: () => run !== this.seriesRun,
      onProgress: (done, so) => {
        if (run !== this.seriesRun) return;
        const outcome = so[so.length - 1];
        this.set({ series: { kind: 'running', ...base, done, outcomes: [...so] } });
        this._broadcastEvent(ClassificationService.EVENTS.PROGRESS, { done, total: src.count, outcome });
        if (outcome.classification) this.emitResult('series', outcome.classification, outcome.identity);
      },
    });
    if (this.seriesOwner !== run) return;
    const at = new Date().toISOString();
    const entries = outcomes
      .filter((o) => o.classification)
      .map((o) => historyEntry('series', o.classification!, o.identity, at, undefined, label));
    this.set({
      series: {
        kind: cancelled ? 'cancelled' : 'done',
        ...base,
        done: outcomes.length,
        outcomes,
        summary: seriesSummary(outcomes, src.count, model.card.classes),
      },
      history: mergeHistory(this.state.history, entries),
    });
    if (cancelled)
      this._broadcastEvent(ClassificationService.EVENTS.CANCELLED, { done: outcomes.length, total: src.count });
  }

  /** Classifies a local file (dropped on the panel): no study, so no UIDs; a DICOM file's attributes are gated. */
  async classifyFile(file: { name: string; type?: string; arrayBuffer: () => Promise<ArrayBuffer> }): Promise<void> {
    const name = file.name;
    await this.modelService.beforeClassification?.();
    const model = await this.model();
    if (!model) {
      this.set({ file: { name, classification: null, error: 'No model is loaded' } });
      this.fail('file', 'No model is loaded');
      return;
    }
    this.set({ file: { name, classification: null, error: null } });
    this._broadcastEvent(ClassificationService.EVENTS.STARTED, { kind: 'file', name });
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      // Read (DICOM decode / image decode) and classified in the engine, off the main thread.
      const { preview, ...answer } = await this.modelService.engine.classifyFile({
        name,
        type: file.type ?? '',
        bytes,
      });
      const classification = checked(answer);
      const at = new Date().toISOString();
      this.set({
        file: { name, classification, error: null, preview: preview ?? null },
        history: mergeHistory(this.state.history, [historyEntry('file', classification, null, at, name)]),
      });
      this.emitResult('file', classification, null);
    } catch (e) {
      this.set({ file: { name, classification: null, error: `${name}: ${message(e)}` } });
      this.fail('file', message(e));
    }
  }

  /** Stops a series run and drops a slice classification in flight. */
  cancel(): void {
    this.waiting.slice++;
    this.waiting.series++;
    this.seriesRun++;
    this.generation++;
    if (this.state.busy) this.set({ busy: false });
  }

  setAuto(auto: boolean): void {
    this.set({ auto });
    this.scheduleAuto();
  }

  setOverlay(overlay: boolean): void {
    this.set({ overlay });
  }

  toggleOverlay(): boolean {
    this.setOverlay(!this.state.overlay);
    return this.state.overlay;
  }

  /** Shows slice `index` of the series run's viewport (a click on the strip). */
  async showSlice(index: number): Promise<void> {
    const series = this.state.series;
    const viewportId =
      'viewportId' in series
        ? series.viewportId
        : this.state.viewer.kind === 'showing'
          ? this.state.viewer.viewportId
          : null;
    if (viewportId) await this.host.jumpToSlice(viewportId, index);
  }

  /**
   * Shows a history row's slice: in the active viewport when it displays that series (found by SOP Instance UID and
   * frame), otherwise through the host's `showInstance` (loads the series into the active viewport). False when the
   * row's slice can't be shown (a dropped file, a series no longer open).
   */
  async showHistoryEntry(
    h: Pick<HistoryEntry, 'seriesInstanceUID' | 'sopInstanceUID' | 'frame' | 'slice'>,
  ): Promise<boolean> {
    if (!h.sopInstanceUID) return false;
    const displayed = this.host.displayedSeries?.();
    if (displayed && displayed.seriesInstanceUID === h.seriesInstanceUID) {
      let index = displayed.sopInstanceUIDs.findIndex(
        (sop, i) => sop === h.sopInstanceUID && (displayed.frames[i] ?? 0) === h.frame,
      );
      if (index < 0 && h.slice !== null) index = h.slice - 1;
      if (index < 0) return false;
      await this.host.jumpToSlice(displayed.viewportId, index);
      return true;
    }
    return this.host.showInstance ? this.host.showInstance(h.seriesInstanceUID, h.sopInstanceUID, h.frame) : false;
  }

  /**
   * Shows a stored run (a prior SR, read by the report service) in the strip and the overlay, without running the
   * model; `outcomes` are indexed by slice. A new run or another stored run replaces it; a model change does not.
   */
  showStoredSeries(run: {
    viewportId: string;
    seriesInstanceUID: string;
    total: number;
    outcomes: SliceOutcome[];
    modelVersion: string;
    classes: string[];
    stored: StoredRun;
  }): void {
    this.seriesRun++;
    this.seriesOwner = this.seriesRun;
    const { classes, ...rest } = run;
    this.set({
      series: { kind: 'done', ...rest, done: run.total, summary: seriesSummary(run.outcomes, run.total, classes) },
    });
  }

  /** The Cornerstone viewport element of a viewport (where the overlay is drawn). */
  viewportElement(viewportId: string): HTMLElement | null {
    return this.host.viewportElement(viewportId);
  }

  /** Forget the shown result (e.g. the user scrolled to another slice). */
  clearResult(): void {
    this.generation++;
    if (this.state.result || this.state.error || this.state.busy) this.set({ result: null, error: null, busy: false });
  }

  /**
   * Follows the active viewport while at least one caller holds the returned release function (the panel while it
   * is mounted): slice changes clear the shown result and, in auto mode, classify the new slice once scrolling pauses.
   */
  trackViewer(): () => void {
    if (this.trackers++ === 0) this.stopTracking = this.host.trackViewer((viewer) => this.onViewer(viewer));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.trackers === 0) {
        this.stopTracking?.();
        this.stopTracking = null;
        this.clearAutoTimer();
      }
    };
  }

  private onViewer(viewer: ViewerState): void {
    const changed = sliceKey(viewer) !== sliceKey(this.state.viewer);
    this.set({ viewer });
    if (changed) {
      this.clearResult();
      this.scheduleAuto();
    }
  }

  private clearAutoTimer(): void {
    if (this.autoTimer) clearTimeout(this.autoTimer);
    this.autoTimer = null;
  }

  private scheduleAuto(): void {
    this.clearAutoTimer();
    const viewer = this.state.viewer;
    if (!this.state.auto || !this.modelService.current || viewer.kind !== 'showing') return;
    this.autoTimer = setTimeout(() => {
      this.autoTimer = null;
      void this.classifySlice({ viewportId: viewer.viewportId });
    }, this.autoDebounceMs);
  }

  private onModelChanged(): void {
    // Results of another model are never shown as this one's; a series run of the old model stops. A stored run (a
    // prior SR) stays: it names its own model version and no model computed it here (a model that finishes loading
    // after the user showed a prior must not blank the strip).
    this.seriesRun++;
    this.generation++;
    const series = this.state.series;
    const stored = 'stored' in series && series.stored !== undefined;
    this.set({ result: null, error: null, busy: false, series: stored ? series : { kind: 'idle' } });
    this.scheduleAuto();
  }

  onModeExit(): void {
    this.cancel();
    this.clearAutoTimer();
    this.set({ result: null, error: null, series: { kind: 'idle' }, viewer: WAITING });
  }
}
