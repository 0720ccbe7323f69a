/**
 * The heatmap service (`servicesManager.services.ssclnetHeatmapService`, issue 14): where the model looked for the
 * displayed slice's predicted class (Grad-CAM, computed in the inference engine with the model the panel uses),
 * shown as a colour-mapped layer over the viewport while it is switched on. It follows the classification
 * service: a new slice result (the "Classify slice" button, `K`, or auto mode) is explained again, a slice change
 * removes the layer (it described another slice), and a declined slice never gets one.
 */
import type { ExplainResult } from '../engine/types';
import type { ViewerHost, ImagePlacement } from '../host/ohifHost';
import type { ClassificationService, ClassificationState } from './ClassificationService';
import type { ModelService } from './ModelService';
import { PubSubService, serviceRegistration } from './pubsub';

export interface HeatmapImage {
  viewportId: string;
  /** Cornerstone image id of the slice it was made for (the layer is drawn only over that image). */
  imageId: string;
  sliceIndex: number;
  rgba: Uint8ClampedArray;
  width: number;
  height: number;
  /** The class explained (the predicted one). */
  label: string;
  probability: number;
  /** Grad-CAM and classification (forward pass) time in the engine, ms. */
  ms: number;
  forwardMs: number;
  modelVersion: string;
}

export interface HeatmapState {
  enabled: boolean;
  /** 0..1, the layer's opacity. */
  opacity: number;
  busy: boolean;
  heatmap: HeatmapImage | null;
  /** Why no heatmap is shown for the displayed slice: it was declined ("Outside the model's range: ..."). */
  declined: string | null;
  error: string | null;
}

export interface HeatmapServiceOptions {
  modelService: ModelService;
  classificationService: ClassificationService;
  host: ViewerHost;
}

const EVENTS = {
  STATE_CHANGED: 'event::ssclnetHeatmapService:stateChanged',
  /** A heatmap was computed: { ms, forwardMs, label }. */
  HEATMAP: 'event::ssclnetHeatmapService:heatmap',
};

const sliceKey = (s: ClassificationState) =>
  s.viewer.kind === 'showing'
    ? `${s.viewer.viewportId}:${s.viewer.slice.index}:${s.viewer.slice.count}`
    : s.viewer.kind;
const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

export class HeatmapService extends PubSubService<typeof EVENTS> {
  static EVENTS = EVENTS;

  static REGISTRATION = serviceRegistration(
    'ssclnetHeatmapService',
    (configuration: HeatmapServiceOptions) => new HeatmapService(configuration),
  );

  private state: HeatmapState = {
    enabled: false,
    opacity: 0.45,
    busy: false,
    heatmap: null,
    declined: null,
    error: null,
  };
  private generation = 0;
  private lastSlice = '';
  private readonly o: HeatmapServiceOptions;

  constructor(options: HeatmapServiceOptions) {
    super(HeatmapService.EVENTS);
    this.o = options;
    const cs = options.classificationService;
    this.lastSlice = sliceKey(cs.getState());
    cs.subscribe(cs.EVENTS.STATE_CHANGED, (s: ClassificationState) => {
      const key = sliceKey(s);
      if (key === this.lastSlice) return;
      this.lastSlice = key;
      // Another slice is displayed: the layer described the previous one.
      this.generation++;
      if (this.state.heatmap || this.state.declined || this.state.busy || this.state.error)
        this.set({ heatmap: null, declined: null, busy: false, error: null });
    });
    cs.subscribe(cs.EVENTS.RESULT, (e: { kind: string }) => {
      if (e.kind === 'slice' && this.state.enabled) void this.compute();
    });
    cs.subscribe(cs.EVENTS.OUT_OF_RANGE, (e: { kind: string; reason: string }) => {
      if (e.kind !== 'slice' || !this.state.enabled) return;
      this.generation++;
      this.set({ heatmap: null, busy: false, declined: e.reason });
    });
    options.modelService.subscribe(options.modelService.EVENTS.MODEL_CHANGED, () => {
      this.generation++;
      this.set({ heatmap: null, busy: false, declined: null });
      if (this.state.enabled) void this.compute();
    });
  }

  getState = (): HeatmapState => this.state;

  private set(patch: Partial<HeatmapState>): void {
    this.state = { ...this.state, ...patch };
    this._broadcastEvent(HeatmapService.EVENTS.STATE_CHANGED, this.state);
  }

  setEnabled(enabled: boolean): void {
    if (enabled === this.state.enabled) return;
    this.generation++;
    this.set({ enabled, heatmap: null, declined: null, error: null, busy: false });
    if (enabled) void this.compute();
  }

  toggle(): boolean {
    this.setEnabled(!this.state.enabled);
    return this.state.enabled;
  }

  setOpacity(opacity: number): void {
    if (!Number.isFinite(opacity)) return;
    this.set({ opacity: Math.min(Math.max(opacity, 0), 1) });
  }

  /** Computes the heatmap of the displayed slice of the active viewport (or `viewportId`). */
  async compute(options: { viewportId?: string } = {}): Promise<HeatmapImage | null> {
    const generation = ++this.generation;
    const { modelService, host } = this.o;
    const engine = modelService.engine;
    if (!engine.explain) {
      this.set({ error: 'This inference engine cannot compute heatmaps', busy: false });
      return null;
    }
    if (!modelService.current) {
      if (modelService.getState().status.kind !== 'none') await modelService.ensureLoaded();
      if (!modelService.current) {
        this.set({ error: 'No model is loaded', busy: false });
        return null;
      }
    }
    let input;
    try {
      input = host.readDisplayedSlice(options.viewportId);
    } catch (e) {
      this.set({ error: message(e), heatmap: null, busy: false });
      return null;
    }
    this.set({ busy: true, error: null });
    let r: ExplainResult;
    try {
      r = await engine.explain({ slice: input.raw, attributes: input.attributes });
    } catch (e) {
      if (generation === this.generation)
        this.set({ busy: false, heatmap: null, error: `Heatmap failed: ${message(e)}` });
      return null;
    }
    if (generation !== this.generation || !this.state.enabled) return null;
    const c = r.classification;
    if (c.outOfRange || !r.heatmap) {
      this.set({ busy: false, heatmap: null, declined: c.outOfRange?.reason ?? 'no answer to explain' });
      return null;
    }
    const h = r.heatmap;
    const heatmap: HeatmapImage = {
      viewportId: input.viewportId,
      imageId: input.identity.imageId,
      sliceIndex: input.identity.sliceIndex,
      rgba: h.rgba,
      width: h.width,
      height: h.height,
      label: h.label,
      probability: c.probabilities[h.classIndex] ?? 0,
      ms: h.ms,
      forwardMs: h.forwardMs,
      modelVersion: c.modelVersion,
    };
    this.set({ busy: false, heatmap, declined: null, error: null });
    this._broadcastEvent(HeatmapService.EVENTS.HEATMAP, { ms: h.ms, forwardMs: h.forwardMs, label: h.label });
    return heatmap;
  }

  /** Where the displayed image is on the canvas now (for the layer), or null. */
  placement(viewportId: string): ImagePlacement | null {
    return this.o.host.imagePlacement?.(viewportId) ?? null;
  }

  onViewportRender(viewportId: string, cb: () => void): () => void {
    return this.o.host.onViewportRender?.(viewportId, cb) ?? (() => undefined);
  }

  viewportElement(viewportId: string): HTMLElement | null {
    return this.o.host.viewportElement(viewportId);
  }

  onModeExit(): void {
    this.generation++;
    this.set({ heatmap: null, busy: false, declined: null, error: null });
  }
}
