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
import type { ClassifyRequest, EngineInfo, FileRequest, InferenceCoreLike, LoadRequest, ModelInfo, Result } from './types';

/** WebGL renderer string: from a DOM canvas on the page, from an OffscreenCanvas in a worker; null without WebGL. */
export function engineRenderer(): string | null {
  if (typeof document !== 'undefined') return webglRenderer();
  if (typeof OffscreenCanvas === 'undefined') return null;
  try {
    const gl = (new OffscreenCanvas(1, 1).getContext('webgl2') ?? new OffscreenCanvas(1, 1).getContext('webgl')) as WebGLRenderingContext | null;
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

  /** `source`: where a registry URL's files come from (HTTP by default; a folder in Node tests). */
  constructor(
    readonly where: 'worker' | 'main',
    private readonly source: (registryUrl: string, indexText?: string) => ArtifactSource = registrySource,
  ) {}

  /** Loads and verifies a version; the previous model stays in use until the new one is ready. */
  async load(request: LoadRequest): Promise<ModelInfo> {
    const next = await loadModel({
      source: this.source(request.registryUrl, request.indexText),
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
      previous.model.dispose();
      try {
        previous.heads?.dispose(); // shares the model's layers: frees what the model's dispose left, if anything
      } catch {
        /* already disposed with the model */
      }
    }
    return { version: next.version, card: next.card, backend: next.backend, backendReason: next.backendReason, loadMs: next.loadMs, bytes: next.bytes, where: this.where };
  }

  async verify(request: LoadRequest): Promise<{ version: string; bytes: number }> {
    const artifact = await loadVerifiedArtifact(this.source(request.registryUrl, request.indexText), request.version);
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
  async classifyFile(request: FileRequest): Promise<Result> {
    if (!this.loaded) throw new Error('No model is loaded');
    const { slice, attributes } = await readLocalFile(request);
    return this.classify({ slice, attributes });
  }

  async info(): Promise<EngineInfo> {
    return { where: this.where, backend: this.loaded ? tf.getBackend() : '', registeredBackends: Object.keys(tf.engine().registryFactory), modelVersion: this.loaded?.version ?? null };
  }
}
