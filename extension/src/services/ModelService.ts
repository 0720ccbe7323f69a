/**
 * The model service (`servicesManager.services.ssclnetModelService`): the viewer's view of the model registry and
 * the model in use. It reads models.json (once per check, never from the HTTP cache), loads `latest` into the
 * inference engine (which verifies every file's SHA-256), announces a newer `latest` without switching, switches
 * on request keeping the previous model until the new one is verified, and rolls back to the version used before.
 */
import type { RegistryIndex } from '../inference/types';
import type { EngineRuntime, InferenceEngine, LoadRequest, ModelInfo } from '../engine/types';
import type { SsclnetConfig } from '../config';
import { PubSubService, serviceRegistration } from './pubsub';

export type ModelStatus =
  | { kind: 'idle' }
  | { kind: 'loading'; version?: string }
  | { kind: 'none'; message: string }
  | { kind: 'failed'; message: string }
  | {
      kind: 'ready';
      version: string;
      backend: string;
      backendReason: string;
      loadMs: number;
      intendedUse: string;
      where: 'worker' | 'main';
      /** Backend, wasm SIMD/threads and thread count that answered, model bytes fetched vs cached (issue 16). */
      runtime?: EngineRuntime;
    };

export interface UpdateState {
  /** A registry `latest` newer than the model in use, waiting for the user's confirmation. */
  available: string | null;
  checking: boolean;
  message: string | null;
  /** The administrator's announcement, e.g. "Your administrator switched back to 2026.11.23-1: <notice>". */
  announcement?: string | null;
}

/** Orders two registry versions: by creation date when both have one, else by version text (numbers as numbers). */
export function compareVersions(
  a: { version: string; created?: string },
  b: { version: string; created?: string },
): number {
  const ta = a.created ? Date.parse(a.created) : NaN;
  const tb = b.created ? Date.parse(b.created) : NaN;
  if (Number.isFinite(ta) && Number.isFinite(tb) && ta !== tb) return ta - tb;
  return a.version.localeCompare(b.version, 'en', { numeric: true });
}

export type RegistryEntry = RegistryIndex['versions'][number];

export interface ModelState {
  status: ModelStatus;
  update: UpdateState;
  /** The registry as last read. */
  latest: string | null;
  versions: RegistryEntry[];
  /** Versions used before the current one, most recent last (what a rollback returns to). */
  previous: string[];
  /** The registry's notice (models.json `notice`), if any. */
  notice?: string | null;
}

export type FetchIndex = (
  url: string,
  init: { cache: 'no-cache' },
) => Promise<{ status: number; ok: boolean; text?: () => Promise<string> }>;

export interface ModelServiceOptions {
  config: Pick<SsclnetConfig, 'modelsUrl' | 'wasmPaths' | 'backend'> & { registryMaxAgeMs?: number };
  engine: InferenceEngine;
  fetch?: FetchIndex;
}

const DEFAULT_INTENDED_USE = 'Research use only; not for diagnosis.';
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

type IndexRead = { kind: 'none' } | { kind: 'ok'; index: RegistryIndex; text: string };

const EVENTS = {
  /** Any change of ModelState (views re-render on it). */
  STATE_CHANGED: 'event::ssclnetModelService:stateChanged',
  /** A model became the one in use: { previous: string | null, current: ModelInfo }. */
  MODEL_CHANGED: 'event::ssclnetModelService:modelChanged',
  /** The registry's latest differs from the model in use: { version }. */
  UPDATE_AVAILABLE: 'event::ssclnetModelService:updateAvailable',
};

export class ModelService extends PubSubService<typeof EVENTS> {
  static EVENTS = EVENTS;

  static REGISTRATION = serviceRegistration(
    'ssclnetModelService',
    (configuration: ModelServiceOptions) => new ModelService(configuration),
  );

  readonly engine: InferenceEngine;
  private state: ModelState = {
    status: { kind: 'idle' },
    update: { available: null, checking: false, message: null },
    latest: null,
    versions: [],
    previous: [],
  };
  private model: ModelInfo | null = null;
  private loading: Promise<void> | null = null;
  private readonly doFetch: FetchIndex;
  private lastRead = 0;

  constructor(private options: ModelServiceOptions) {
    super(ModelService.EVENTS);
    this.engine = options.engine;
    this.doFetch = options.fetch ?? ((url, init) => globalThis.fetch(url, init));
  }

  getState = (): ModelState => this.state;

  /** The model in use, or null. */
  get current(): ModelInfo | null {
    return this.model;
  }

  get classes(): string[] {
    return this.model?.card.classes ?? [];
  }

  private set(patch: Partial<ModelState>): void {
    this.state = { ...this.state, ...patch };
    this._broadcastEvent(ModelService.EVENTS.STATE_CHANGED, this.state);
  }

  /** The registry URL without its trailing slash. */
  get registryUrl(): string {
    return this.options.config.modelsUrl.replace(/\/+$/, '');
  }

  /** One GET of models.json, revalidated (a new `latest` must be seen). */
  private async readIndex(): Promise<IndexRead> {
    const url = `${this.registryUrl}/models.json`;
    const res = await this.doFetch(url, { cache: 'no-cache' });
    if (res.status === 404) return { kind: 'none' };
    if (!res.ok || !res.text) throw new Error(`GET ${url} failed: HTTP ${res.status}`);
    const text = await res.text();
    let index: RegistryIndex;
    try {
      index = JSON.parse(text) as RegistryIndex;
    } catch (e) {
      throw new Error(`${url} is not valid JSON (${message(e)})`);
    }
    if (typeof index.latest !== 'string' || !index.latest) throw new Error('models.json names no latest version');
    this.lastRead = Date.now();
    this.set({
      latest: index.latest,
      versions: Array.isArray(index.versions) ? index.versions : [],
      notice: typeof index.notice === 'string' && index.notice.trim() ? index.notice.trim() : null,
    });
    return { kind: 'ok', index, text };
  }

  /** The registry entry of `version` as last read. */
  entry(version: string | null | undefined): RegistryEntry | undefined {
    return version ? this.state.versions.find((v) => v.version === version) : undefined;
  }

  /** Why `version` must not be used (withdrawn by the administrator), or null. */
  private withdrawnMessage(index: RegistryIndex, version: string): string | null {
    const e = index.versions?.find((v) => v.version === version);
    if (!e?.withdrawn) return null;
    return `Model ${version} was withdrawn by your administrator${e.withdrawn_reason ? `: ${e.withdrawn_reason}` : ''}`;
  }

  /** How `latest` relates to the model in use: newer (offer it), older (an administrator's rollback), same. */
  private relation(index: RegistryIndex, current: string | null): 'same' | 'newer' | 'older' {
    if (!current || index.latest === current) return index.latest === current ? 'same' : 'newer';
    const l = index.versions?.find((v) => v.version === index.latest) ?? { version: index.latest };
    const c = index.versions?.find((v) => v.version === current) ?? { version: current };
    return compareVersions(l, c) > 0 ? 'newer' : 'older';
  }

  /**
   * Before a classification: re-reads the registry when the last read is older than `registryMaxAgeMs` (default
   * 60 s), and applies what the administrator decided: a rollback (latest pointed to an older version) or a
   * withdrawn model in use switches to `latest`, announced. A newer version is only offered (the user switches).
   */
  async beforeClassification(): Promise<void> {
    if (!this.model) return;
    const maxAge = this.options.config.registryMaxAgeMs ?? 60_000;
    if (Date.now() - this.lastRead < maxAge && !this.pendingAdmin) return;
    try {
      const read = await this.readIndex();
      if (read.kind === 'none') return;
      await this.applyAdmin(read.index);
    } catch {
      // The registry is unreachable: keep the model in use (it was verified when loaded).
    }
  }

  private pendingAdmin = false;

  private async applyAdmin(index: RegistryIndex): Promise<void> {
    const current = this.model?.version ?? null;
    if (!current) return;
    const withdrawn = this.withdrawnMessage(index, current);
    const rel = this.relation(index, current);
    if (!withdrawn && rel !== 'older') return;
    this.pendingAdmin = false;
    if (this.withdrawnMessage(index, index.latest)) {
      this.model = null;
      this.set({
        status: {
          kind: 'failed',
          message: `${withdrawn ?? `Model ${current} is no longer offered`}; the registry's latest (${index.latest}) is withdrawn too. Classification is off.`,
        },
      });
      return;
    }
    const why =
      withdrawn ??
      `Your administrator switched back to ${index.latest}${this.state.notice ? `: ${this.state.notice}` : ''}`;
    const ok = await this.switchTo(index.latest);
    this.set({
      update: { ...this.state.update, available: null, announcement: ok ? `${why}. Now using ${index.latest}.` : why },
    });
  }

  private request(version: string | undefined, indexText: string): LoadRequest {
    return {
      registryUrl: this.registryUrl,
      version,
      indexText,
      backend: this.options.config.backend,
      wasmPaths: this.options.config.wasmPaths,
    };
  }

  private use(next: ModelInfo): void {
    const previous = this.model?.version ?? null;
    this.model = next;
    const card = next.card as { intended_use?: unknown };
    const intendedUse =
      typeof card.intended_use === 'string' && card.intended_use.trim()
        ? card.intended_use.trim()
        : DEFAULT_INTENDED_USE;
    this.set({
      status: {
        kind: 'ready',
        version: next.version,
        backend: next.backend,
        backendReason: next.backendReason,
        loadMs: next.loadMs,
        intendedUse,
        where: next.where,
        runtime: next.runtime,
      },
      previous:
        previous && previous !== next.version
          ? [...this.state.previous.filter((v) => v !== previous), previous]
          : this.state.previous,
    });
    this._broadcastEvent(ModelService.EVENTS.MODEL_CHANGED, { previous, current: next });
  }

  /** Loads the registry's `latest` once; later calls wait for the same load. */
  ensureLoaded(): Promise<void> {
    if (!this.loading) this.loading = this.loadLatest();
    return this.loading;
  }

  private async loadLatest(): Promise<void> {
    this.set({ status: { kind: 'loading' } });
    try {
      const read = await this.readIndex();
      if (read.kind === 'none') {
        this.set({
          status: {
            kind: 'none',
            message: `No model published in this viewer's registry (no models.json at ${this.registryUrl}/). The viewer works; classification is off.`,
          },
        });
        return;
      }
      const withdrawn = this.withdrawnMessage(read.index, read.index.latest);
      if (withdrawn) {
        this.set({
          status: {
            kind: 'failed',
            message: `${withdrawn}. Classification is off until the registry names another version.`,
          },
        });
        return;
      }
      this.use(await this.engine.load(this.request(read.index.latest, read.text)));
    } catch (e) {
      this.model = null;
      this.set({ status: { kind: 'failed', message: `The model could not be loaded: ${message(e)}` } });
    }
  }

  /** Re-reads models.json; announces a `latest` other than the model in use (switching needs switchTo()). */
  async checkForUpdate(): Promise<string | null> {
    this.set({ update: { ...this.state.update, checking: true, message: null } });
    try {
      const read = await this.readIndex();
      if (read.kind === 'none') throw new Error('no models.json in the registry');
      const current = this.model?.version ?? null;
      const rel = this.relation(read.index, current);
      const latestWithdrawn = this.withdrawnMessage(read.index, read.index.latest);
      const currentWithdrawn = current ? this.withdrawnMessage(read.index, current) : null;
      if (!latestWithdrawn && (rel === 'older' || currentWithdrawn)) {
        // The administrator rolled back (or withdrew the model in use): announced now, applied at the next classification.
        this.pendingAdmin = true;
        const why =
          currentWithdrawn ??
          `Your administrator switched back to ${read.index.latest}${this.state.notice ? `: ${this.state.notice}` : ''}`;
        this.set({
          update: {
            available: null,
            checking: false,
            message: null,
            announcement: `${why}. It applies at the next classification.`,
          },
        });
        return null;
      }
      const available = rel === 'newer' && !latestWithdrawn ? read.index.latest : null;
      const message = available
        ? null
        : latestWithdrawn && rel !== 'same'
          ? `${latestWithdrawn}; still using ${current}`
          : `Model ${current} is the latest`;
      this.set({ update: { available, checking: false, message, announcement: null } });
      if (available) this._broadcastEvent(ModelService.EVENTS.UPDATE_AVAILABLE, { version: available });
      return available;
    } catch (e) {
      this.set({
        update: { available: null, checking: false, message: `Could not check for a newer model: ${message(e)}` },
      });
      return null;
    }
  }

  /** Reads every file of `version` and checks it against the registry's and the card's SHA-256, without using it. */
  async verify(version: string): Promise<{ ok: true; bytes: number } | { ok: false; message: string }> {
    try {
      const read = await this.readIndex();
      if (read.kind === 'none') throw new Error('no models.json in the registry');
      const { bytes } = await this.engine.verify(this.request(version, read.text));
      return { ok: true, bytes };
    } catch (e) {
      return { ok: false, message: message(e) };
    }
  }

  /**
   * Switches to `version` (default: the announced update). The model in use stays in use until the new one is
   * fully downloaded and verified; a failed download or hash mismatch keeps it and says why.
   */
  async switchTo(version: string | null = this.state.update.available): Promise<boolean> {
    if (!version) return false;
    if (version === this.model?.version) return true;
    const current = this.model?.version ?? 'no model';
    this.set({
      update: { available: this.state.update.available, checking: true, message: `Loading model ${version}…` },
    });
    try {
      const read = await this.readIndex();
      if (read.kind === 'none') throw new Error('no models.json in the registry');
      if (!read.index.versions.some((v) => v.version === version))
        throw new Error(`version ${version} is not in models.json`);
      const withdrawn = this.withdrawnMessage(read.index, version);
      if (withdrawn) throw new Error(withdrawn);
      const next = await this.engine.load(this.request(version, read.text));
      this.use(next);
      const available =
        this.relation(read.index, next.version) === 'newer' && !this.withdrawnMessage(read.index, read.index.latest)
          ? read.index.latest
          : null;
      this.set({
        update: {
          available,
          checking: false,
          message: `Switched to model ${next.version}`,
          announcement: this.state.update.announcement ?? null,
        },
      });
      return true;
    } catch (e) {
      this.set({
        update: {
          available: this.state.update.available,
          checking: false,
          message: `Model ${version} could not be loaded; still using ${current}: ${message(e)}`,
        },
      });
      return false;
    }
  }

  /** Switches back to the version used before the current one (verified again on the way). */
  async rollBack(): Promise<boolean> {
    const target = rollbackTarget(this.state);
    if (!target) {
      this.set({ update: { ...this.state.update, message: 'No earlier model to roll back to in this session' } });
      return false;
    }
    const ok = await this.switchTo(target);
    if (ok) this.set({ previous: this.state.previous.filter((v) => v !== target && v !== this.model?.version) });
    return ok;
  }

  onModeExit(): void {
    // The model stays loaded across modes (it is the page's); nothing to reset.
  }
}

/** The version "Back to" returns to: the latest one used before in this session that is not withdrawn. */
export function rollbackTarget(state: Pick<ModelState, 'previous' | 'versions'>): string | null {
  const withdrawn = new Set(state.versions.filter((v) => v.withdrawn).map((v) => v.version));
  return [...state.previous].reverse().find((v) => !withdrawn.has(v)) ?? null;
}
