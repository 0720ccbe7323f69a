/**
 * The inference engine's core: loads a verified model from the registry and classifies slices, with TensorFlow.js
 * in the realm it runs in (a Web Worker by default; the page for the main-thread comparison). Only this file and
 * the inference module it calls touch tfjs; it is bundled on its own as dist/ssclnet-inference.js.
 */
import * as tf from '@tensorflow/tfjs';

import { webglRenderer } from '../inference/backend';
import { loadVerifiedArtifact, REGISTRY_INDEX } from '../inference/artifact';
import { classify, loadModel, type LoadedModel } from '../inference/classifier';
import { urlSource, type ArtifactSource } from '../inference/source';
import { readLocalFile } from '../classification/localFile';
import { cachingSource, keepOnly, newCacheStats } from './modelCache';
import { configureWasmThreads, runtimeInfo } from './runtime';
import { preprocess } from '../inference/preprocess';
import { colorize, gradcam, heatmapOnImage, releaseGradcam } from '../inference/gradcam';
import { buildClassificationSR } from '../report/build';
import { findPriorResults, storeInstances, StoreError, type FetchFn } from '../report/dicomweb';
import type { BuildInput } from '../report/types';
import type {
  ClassifyRequest,
  EngineInfo,
  EngineRuntime,
  ExplainRequest,
  ExplainResult,
  FileRequest,
  FilePreview,
  FileResult,
  InferenceCoreLike,
  LoadRequest,
  ModelInfo,
  PriorLookupRequest,
  PriorResults,
  ReportBuildRequest,
  ReportBuilt,
  ReportStoreRequest,
  ReportStoreResult,
  Result,
} from './types';

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** A relative DICOMweb root ('/dicom-web') against the realm's location (a worker's is its script URL). */
function absolute(root: string): string {
  const base = (globalThis as { location?: { href?: string } }).location?.href;
  try {
    return base ? new URL(root, base).href : root;
  } catch {
    return root;
  }
}

const fetchFn: FetchFn = (url, init) => fetch(url, init as RequestInit) as unknown as ReturnType<FetchFn>;

/** WebGL renderer string: from a DOM canvas on the page, from an OffscreenCanvas in a worker; null without WebGL. */
export function engineRenderer(): string | null {
  if (typeof document !== 'undefined') return webglRenderer();
  if (typeof OffscreenCanvas === 'undefined') return null;
  try {
    const gl = (new OffscreenCanvas(1, 1).getContext('webgl2') ??
      new OffscreenCanvas(1, 1).getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return null;
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return renderer;
  } catch {
    return null;
  }
}

/** The registry over HTTP, with models.json answered from the copy the model service already read. */
export function registrySource(url: string, indexText?: string): ArtifactSource {
  return withIndex(urlSource(url), indexText);
}

/** `base`, except that models.json is the given text (no second read of the index per check). */
export function withIndex(base: ArtifactSource, indexText?: string): ArtifactSource {
  if (indexText === undefined) return base;
  const index = new TextEncoder().encode(indexText);
  return {
    location: base.location,
    read: (path, options) => (path === REGISTRY_INDEX ? Promise.resolve(index) : base.read(path, options)),
    sub: (path) => base.sub(path),
  };
}

export class InferenceCore implements InferenceCoreLike {
  private loaded: LoadedModel | null = null;
  private runtime: EngineRuntime | null = null;

  /** `source`: where a registry URL's files come from (HTTP by default; a folder in Node tests). */
  constructor(
    readonly where: 'worker' | 'main',
    private readonly source: (registryUrl: string, indexText?: string) => ArtifactSource = registrySource,
  ) {}

  /** Loads and verifies a version; the previous model stays in use until the new one is ready. */
  async load(request: LoadRequest): Promise<ModelInfo> {
    // Model files come from Cache Storage when their SHA-256 is there (verified all the same); threads for wasm
    // where the page is cross-origin isolated (issue 16).
    const stats = newCacheStats();
    configureWasmThreads(request.wasmThreads);
    const next = await loadModel({
      source: cachingSource(this.source(request.registryUrl, request.indexText), stats),
      version: request.version,
      backend: request.backend ?? 'auto',
      wasmPaths: request.wasmPaths,
      // In a worker there is no document: the renderer comes from an OffscreenCanvas (WebGL through it when the
      // GPU is hardware-accelerated, wasm otherwise).
      renderer: engineRenderer(),
    });
    const previous = this.loaded;
    this.loaded = next;
    if (previous && previous.model !== next.model) {
      releaseGradcam(previous);
      previous.model.dispose();
      try {
        previous.heads?.dispose(); // shares the model's layers: frees what the model's dispose left, if anything
      } catch {
        /* already disposed with the model */
      }
    }
    await keepOnly(stats.hashes); // a new version replaces the previous one's cached files
    this.runtime = await runtimeInfo(stats);
    return {
      version: next.version,
      card: next.card,
      backend: next.backend,
      backendReason: next.backendReason,
      loadMs: next.loadMs,
      bytes: next.bytes,
      where: this.where,
      runtime: this.runtime,
    };
  }

  async verify(request: LoadRequest): Promise<{ version: string; bytes: number }> {
    const artifact = await loadVerifiedArtifact(
      cachingSource(this.source(request.registryUrl, request.indexText)),
      request.version,
    );
    return { version: artifact.card.version, bytes: artifact.bytes };
  }

  async classify(request: ClassifyRequest): Promise<Result> {
    const loaded = this.loaded;
    if (!loaded) throw new Error('No model is loaded');
    // The metadata gate first (no inference for a slice the model is not for), then the forward pass with the
    // card's calibration and feature gate.
    return classify(loaded, request.slice, { attributes: request.attributes ?? null });
  }

  /** A dropped file: DICOM (metadata gate on its attributes) or JPEG/PNG (feature gate only). */
  async classifyFile(request: FileRequest): Promise<FileResult> {
    const loaded = this.loaded;
    if (!loaded) throw new Error('No model is loaded');
    const { slice, attributes } = await readLocalFile(request);
    const result = await this.classify({ slice, attributes });
    return { ...result, preview: previewOf(preprocess(slice, loaded.card.preprocess), loaded.card.preprocess) };
  }

  /**
   * Grad-CAM (inference/gradcam.ts) of one slice for its predicted class (or `classIndex`), after classifying it
   * the same way as classify() (metadata gate, forward pass, calibration, feature gate): a declined slice gets no
   * heatmap. The heatmap comes back colour-mapped on the slice's own pixel grid, ready to draw in image space.
   */
  async explain(request: ExplainRequest): Promise<ExplainResult> {
    const loaded = this.loaded;
    if (!loaded) throw new Error('No model is loaded');
    const classification = await classify(loaded, request.slice, { attributes: request.attributes ?? null });
    if (classification.outOfRange) return { classification, heatmap: null };
    const t0 = now();
    const input = preprocess(request.slice, loaded.card.preprocess);
    const classIndex = request.classIndex ?? classification.top.index;
    const cam = await gradcam(loaded, input, classIndex);
    const onImage = heatmapOnImage(cam, request.slice.width, request.slice.height);
    const rgba = colorize(onImage, 1, request.threshold ?? 0.2);
    return {
      classification,
      heatmap: {
        rgba,
        width: request.slice.width,
        height: request.slice.height,
        classIndex,
        label: loaded.card.classes[classIndex],
        ms: now() - t0,
        forwardMs: classification.ms,
        layer: cam.layer,
      },
    };
  }

  /** Builds the classification SR (dcmjs): seconds for hundreds of slices, so it runs here, off the page's thread. */
  async buildReport(request: ReportBuildRequest): Promise<ReportBuilt> {
    const t0 = now();
    const sr = buildClassificationSR(request as unknown as BuildInput);
    return {
      buffer: sr.buffer,
      studyInstanceUID: sr.studyInstanceUID,
      seriesInstanceUID: sr.seriesInstanceUID,
      sopInstanceUID: sr.sopInstanceUID,
      groups: sr.groups,
      bytes: sr.buffer.byteLength,
      ms: now() - t0,
    };
  }

  /** STOW-RS of one SR file; a failure is answered as a value with its kind and message for the user. */
  async storeReport(request: ReportStoreRequest): Promise<ReportStoreResult> {
    try {
      const r = await storeInstances(fetchFn, absolute(request.root), [request.buffer], {
        expectedSOPInstanceUIDs: [request.sopInstanceUID],
      });
      return { ok: true, status: r.status, stored: r.stored, warnings: r.warnings };
    } catch (e) {
      if (e instanceof StoreError) return { ok: false, kind: e.kind, status: e.status, message: e.message };
      return { ok: false, kind: 'network', status: null, message: e instanceof Error ? e.message : String(e) };
    }
  }

  /** This algorithm's earlier SRs in a study (QIDO-RS + WADO-RS metadata), parsed, newest first. */
  async findPriorResults(request: PriorLookupRequest): Promise<PriorResults> {
    return findPriorResults(fetchFn, absolute(request.root), request.studyInstanceUID);
  }

  async info(): Promise<EngineInfo> {
    return {
      where: this.where,
      backend: this.loaded ? tf.getBackend() : '',
      registeredBackends: Object.keys(tf.engine().registryFactory),
      modelVersion: this.loaded?.version ?? null,
      runtime: this.runtime,
    };
  }
}

/** The preprocessed input back in [0, 255] grey (first channel): the picture of what the model classified. */
export function previewOf(
  input: Float32Array,
  spec: { input_size: number; channels: number; mean: number; std: number },
): FilePreview {
  const n = spec.input_size * spec.input_size;
  const gray = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const unit = input[i * spec.channels] * spec.std + spec.mean;
    gray[i] = Math.max(0, Math.min(255, Math.round(unit * 255)));
  }
  return { width: spec.input_size, height: spec.input_size, gray };
}
