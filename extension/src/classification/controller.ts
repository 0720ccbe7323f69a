/**
 * The classification state shared by every mount of the panel: the model (loaded once per page from the
 * viewer's registry), the last result and its error. A tiny store (subscribe/getState) read by React through
 * useSyncExternalStore; the inference module is injected so the state rules are testable without a browser.
 */
import type { Classification, RawSlice } from '../inference/types';
import type { BackendPreference } from '../inference/backend';
import type { LoadedModel, LoadOptions } from '../inference/classifier';
import type { SliceIdentity } from './displayedSlice';
import { cacheKey, classifySeries, summarize, type SeriesSlice, type SeriesSummary, type SliceOutcome } from './series';

export type SeriesState =
  | { kind: 'idle' }
  | { kind: 'running' | 'done' | 'cancelled'; viewportId: string; seriesInstanceUID: string; total: number; done: number; outcomes: SliceOutcome[]; summary: SeriesSummary | null; modelVersion: string }
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
  file?: string;
  classes: string[];
  probabilities: number[];
  top: string;
  modelVersion: string;
  backend: string;
  ms: number;
}

export type ModelStatus =
  | { kind: 'idle' }
  | { kind: 'loading' }
  | { kind: 'none'; message: string }
  | { kind: 'failed'; message: string }
  | { kind: 'ready'; version: string; backend: string; backendReason: string; loadMs: number; intendedUse: string };

export interface SliceResult {
  classification: Classification;
  identity: SliceIdentity | null;
  /** ISO time the result was produced. */
  at: string;
}

export interface ClassificationState {
  model: ModelStatus;
  busy: boolean;
  result: SliceResult | null;
  error: string | null;
  /** Classify on every slice change (debounced). */
  auto: boolean;
  /** Show the top class on the viewport. */
  overlay: boolean;
  series: SeriesState;
  history: HistoryEntry[];
  /** A dropped local file's result (no study), kept apart from the displayed slice's. */
  file: { name: string; classification: Classification | null; error: string | null } | null;
  /** Model updates: a newer `latest` in models.json, waiting for the user's confirmation. */
  update: { available: string | null; checking: boolean; message: string | null };
}

export interface InferenceApi {
  loadModel: (options: LoadOptions) => Promise<LoadedModel>;
  classify: (model: LoadedModel, slice: RawSlice) => Promise<Classification>;
}

export interface ControllerOptions {
  modelsUrl: string;
  wasmPaths?: string;
  /** The tfjs backend to ask for; undefined = 'auto' (see inference/backend.ts). */
  backend?: BackendPreference;
  fetch?: (url: string, init?: { cache?: 'no-cache' }) => Promise<{ status: number; ok: boolean; json?: () => Promise<unknown> }>;
}

const DEFAULT_INTENDED_USE = 'Research use only; not for diagnosis.';

function historyEntry(source: HistoryEntry['source'], c: Classification, id: SliceIdentity | null, at: string, file?: string): HistoryEntry {
  return {
    at, source, file,
    studyInstanceUID: id?.studyInstanceUID ?? '', seriesInstanceUID: id?.seriesInstanceUID ?? '', sopInstanceUID: id?.sopInstanceUID ?? '',
    frame: id?.frame ?? 0, slice: id ? id.sliceIndex + 1 : null,
    classes: c.classes, probabilities: c.probabilities, top: c.top.label, modelVersion: c.modelVersion, backend: c.backend, ms: c.ms,
  };
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class ClassificationController {
  private state: ClassificationState = { model: { kind: 'idle' }, busy: false, result: null, error: null, auto: false, overlay: true, series: { kind: 'idle' }, history: [], file: null, update: { available: null, checking: false, message: null } };
  /** Results by SOP instance + frame + model version (see series.cacheKey). */
  readonly cache = new Map<string, Classification>();
  private seriesRun = 0;
  /** The run whose progress the state shows (a newer run takes it over; cancelling does not). */
  private seriesOwner = 0;
  private listeners = new Set<() => void>();
  private loaded: LoadedModel | null = null;
  private loading: Promise<void> | null = null;
  /** Incremented per request: a result that arrives after a newer request is dropped (stale). */
  private generation = 0;

  constructor(private api: InferenceApi, private options: ControllerOptions) {}

  getState = (): ClassificationState => this.state;

  subscribe = (cb: () => void): (() => void) => {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  };

  private set(patch: Partial<ClassificationState>): void {
    this.state = { ...this.state, ...patch };
    this.listeners.forEach((cb) => cb());
  }

  /** Loads the registry's `latest` once; later calls wait for the same load. */
  ensureModel(): Promise<void> {
    if (!this.loading) this.loading = this.load();
    return this.loading;
  }

  /** The registry URL without its trailing slash. */
  private get base(): string {
    return this.options.modelsUrl.replace(/\/+$/, '');
  }

  /** models.json, never from the HTTP cache: a new `latest` must be seen. */
  private fetchIndex() {
    const doFetch = this.options.fetch ?? ((url: string, init?: { cache?: 'no-cache' }) => globalThis.fetch(url, init));
    return doFetch(`${this.base}/models.json`, { cache: 'no-cache' });
  }

  private loadOptions(version?: string): LoadOptions {
    return { url: this.base, wasmPaths: this.options.wasmPaths, backend: this.options.backend, version };
  }

  private async load(): Promise<void> {
    this.set({ model: { kind: 'loading' } });
    const base = this.base;
    try {
      const index = await this.fetchIndex();
      if (index.status === 404) {
        this.set({ model: { kind: 'none', message: "No model published in this viewer's registry (no models.json at " + `${base}/). The viewer works; classification is off.` } });
        return;
      }
      if (!index.ok) throw new Error(`GET ${base}/models.json failed: HTTP ${index.status}`);
      const loaded = await this.api.loadModel(this.loadOptions());
      this.loaded = loaded;
      const card = loaded.card as { intended_use?: unknown };
      const intendedUse = typeof card.intended_use === 'string' && card.intended_use.trim() ? card.intended_use.trim() : DEFAULT_INTENDED_USE;
      this.set({
        model: { kind: 'ready', version: loaded.version, backend: loaded.backend, backendReason: loaded.backendReason, loadMs: loaded.loadMs, intendedUse },
      });
    } catch (e) {
      this.loaded = null;
      this.set({ model: { kind: 'failed', message: `The model could not be loaded: ${message(e)}` } });
    }
  }

  get model(): LoadedModel | null {
    return this.loaded;
  }

  /**
   * Classifies one slice. `read` is called at once (it may throw a clear message, e.g. a non-MR series); the
   * result replaces the previous one only if no newer request started meanwhile.
   */
  async classifySlice(read: () => { raw: RawSlice; identity: SliceIdentity | null }): Promise<SliceResult | null> {
    const generation = ++this.generation;
    if (!this.loaded) {
      this.set({ error: 'No model is loaded', result: null });
      return null;
    }
    let input: { raw: RawSlice; identity: SliceIdentity | null };
    try {
      input = read();
    } catch (e) {
      // Nothing from an earlier slice stays on screen as if it described this one.
      this.set({ error: message(e), result: null, busy: false });
      return null;
    }
    this.set({ busy: true, error: null });
    try {
      const classification = await this.api.classify(this.loaded, input.raw);
      if (generation !== this.generation) return null;
      const sum = classification.probabilities.reduce((a, b) => a + b, 0);
      if (!classification.probabilities.every(Number.isFinite) || Math.abs(sum - 1) > 1e-3) {
        throw new Error(`the model returned invalid probabilities (sum ${sum})`);
      }
      const result: SliceResult = { classification, identity: input.identity, at: new Date().toISOString() };
      if (input.identity?.sopInstanceUID) this.cache.set(cacheKey(input.identity, classification.modelVersion), classification);
      this.set({ busy: false, result, error: null, history: [...this.state.history, historyEntry('slice', classification, input.identity, result.at)] });
      return result;
    } catch (e) {
      if (generation === this.generation) this.set({ busy: false, result: null, error: `Classification failed: ${message(e)}` });
      return null;
    }
  }

  /** The cached result for a slice under the current model, if any (for the overlay while scrolling). */
  cached(identity: Pick<SliceIdentity, 'sopInstanceUID' | 'frame'>): Classification | undefined {
    return this.loaded && identity.sopInstanceUID ? this.cache.get(cacheKey(identity, this.loaded.version)) : undefined;
  }

  /** Classifies every slice of a series; a second call or cancelSeries() stops the first. */
  async runSeries(open: () => { viewportId: string; seriesInstanceUID: string; count: number; load: (i: number) => Promise<SeriesSlice> }): Promise<void> {
    const run = ++this.seriesRun;
    this.seriesOwner = run;
    const loaded = this.loaded;
    if (!loaded) {
      this.set({ series: { kind: 'failed', message: 'No model is loaded' } });
      return;
    }
    let src: ReturnType<typeof open>;
    try {
      src = open();
    } catch (e) {
      this.set({ series: { kind: 'failed', message: message(e) } });
      return;
    }
    const base = { viewportId: src.viewportId, seriesInstanceUID: src.seriesInstanceUID, total: src.count, modelVersion: loaded.version, summary: null };
    this.set({ series: { kind: 'running', ...base, done: 0, outcomes: [] } });
    const { outcomes, cancelled } = await classifySeries({
      count: src.count,
      modelVersion: loaded.version,
      load: src.load,
      classify: (raw) => this.api.classify(loaded, raw),
      cache: this.cache,
      isCancelled: () => run !== this.seriesRun,
      onProgress: (done, so) => {
        if (run === this.seriesRun) this.set({ series: { kind: 'running', ...base, done, outcomes: [...so] } });
      },
    });
    if (this.seriesOwner !== run) return;
    const at = new Date().toISOString();
    const entries = outcomes.filter((o) => o.classification).map((o) => historyEntry('series', o.classification!, o.identity, at));
    this.set({
      series: { kind: cancelled ? 'cancelled' : 'done', ...base, done: outcomes.length, outcomes, summary: summarize(outcomes) },
      history: [...this.state.history, ...entries],
    });
  }

  /** Classifies a local file's slice (dropped on the panel): no study, so no UIDs; the file name is recorded. */
  async classifyFile(name: string, read: () => Promise<RawSlice>): Promise<void> {
    if (!this.loaded) {
      this.set({ file: { name, classification: null, error: 'No model is loaded' } });
      return;
    }
    const loaded = this.loaded;
    this.set({ file: { name, classification: null, error: null } });
    try {
      const classification = await this.api.classify(loaded, await read());
      const at = new Date().toISOString();
      this.set({ file: { name, classification, error: null }, history: [...this.state.history, historyEntry('file', classification, null, at, name)] });
    } catch (e) {
      this.set({ file: { name, classification: null, error: `${name}: ${message(e)}` } });
    }
  }

  /** Re-reads models.json; announces a `latest` other than the loaded version (switching needs confirmUpdate). */
  async checkForUpdate(): Promise<string | null> {
    const base = this.base;
    this.set({ update: { ...this.state.update, checking: true, message: null } });
    try {
      const res = await this.fetchIndex();
      if (!res.ok || !res.json) throw new Error(`GET ${base}/models.json: HTTP ${res.status}`);
      const index = (await res.json()) as { latest?: unknown };
      const latest = typeof index.latest === 'string' ? index.latest : null;
      if (!latest) throw new Error('models.json names no latest version');
      const current = this.loaded?.version ?? null;
      const available = latest !== current ? latest : null;
      this.set({ update: { available, checking: false, message: available ? null : `Model ${current} is the latest` } });
      return available;
    } catch (e) {
      this.set({ update: { available: null, checking: false, message: `Could not check for a newer model: ${message(e)}` } });
      return null;
    }
  }

  /**
   * Switches to the announced version. The previous model stays in use until the new one is fully downloaded
   * and verified; a failed download or hash mismatch keeps it and says why.
   */
  async confirmUpdate(): Promise<boolean> {
    const version = this.state.update.available;
    if (!version) return false;
    this.cancelSeries();
    this.set({ update: { available: version, checking: true, message: `Loading model ${version}…` } });
    try {
      const next = await this.api.loadModel(this.loadOptions(version));
      const previous = this.loaded;
      this.loaded = next;
      if (previous && previous.model !== next.model) previous.model.dispose();
      const card = next.card as { intended_use?: unknown };
      const intendedUse = typeof card.intended_use === 'string' && card.intended_use.trim() ? card.intended_use.trim() : DEFAULT_INTENDED_USE;
      this.generation++;
      this.set({
        model: { kind: 'ready', version: next.version, backend: next.backend, backendReason: next.backendReason, loadMs: next.loadMs, intendedUse },
        update: { available: null, checking: false, message: `Switched to model ${next.version}` },
        result: null, error: null, series: { kind: 'idle' },
      });
      return true;
    } catch (e) {
      this.set({ update: { available: version, checking: false, message: `Model ${version} could not be loaded; still using ${this.loaded?.version ?? 'no model'}: ${message(e)}` } });
      return false;
    }
  }

  cancelSeries(): void {
    this.seriesRun++;
  }

  setAuto(auto: boolean): void {
    this.set({ auto });
  }

  setOverlay(overlay: boolean): void {
    this.set({ overlay });
  }

  /** Forget the shown result (e.g. the user scrolled to another slice). */
  clearResult(): void {
    this.generation++;
    if (this.state.result || this.state.error || this.state.busy) this.set({ result: null, error: null, busy: false });
  }
}
