/**
 * Loading a verified model and classifying slices. Tensors live inside tf.tidy or are disposed explicitly,
 * so repeated calls do not leak (tested over 1,000 calls).
 */
import * as tf from '@tensorflow/tfjs';

import { loadVerifiedArtifact } from './artifact';
import { activateBackend, type BackendPreference } from './backend';
import { checkSpec, preprocess } from './preprocess';
import { urlSource, type ArtifactSource, type FetchLike } from './source';
import type { Classification, ModelCard, RawSlice } from './types';

export const LOGITS_LAYER = 'logits';

export interface LoadOptions {
  /** Registry folder (with models.json) or model folder (with model-card.json), over HTTP(S). */
  url?: string;
  /** Any other source, e.g. `fsSource(dir)` in Node. */
  source?: ArtifactSource;
  fetch?: FetchLike;
  /** A registry version instead of `latest`. */
  version?: string;
  backend?: BackendPreference;
  /** Where tfjs-backend-wasm's .wasm files are served (browser); Node finds them in node_modules. */
  wasmPaths?: string;
}

export interface LoadedModel {
  model: tf.LayersModel;
  card: ModelCard;
  version: string;
  backend: string;
  backendReason: string;
  location: string;
  /** Milliseconds: fetch + verify + build + warm-up. */
  loadMs: number;
  bytes: number;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export async function loadModel(options: LoadOptions): Promise<LoadedModel> {
  const t0 = now();
  const source = options.source ?? (options.url ? urlSource(options.url, options.fetch) : undefined);
  if (!source) throw new Error('loadModel: give a url (registry or model folder) or a source');
  const backend = await activateBackend(options.backend ?? 'auto', options.wasmPaths);
  const artifact = await loadVerifiedArtifact(source, options.version);
  checkSpec(artifact.card.preprocess);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: artifact.modelJson.modelTopology,
      weightSpecs: artifact.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: artifact.weightData,
    }),
  );
  const loaded = fromLayersModel(model, artifact.card, backend.name, artifact.location);
  warmUp(loaded);
  return { ...loaded, backendReason: backend.reason, loadMs: now() - t0, bytes: artifact.bytes };
}

/** Wrap an already built model (tests, or a model from elsewhere) with its card. */
export function fromLayersModel(model: tf.LayersModel, card: ModelCard, backend = tf.getBackend(), location = 'memory'): LoadedModel {
  const size = card.preprocess.input_size;
  const shape = model.inputs[0].shape;
  if (shape[1] !== size || shape[2] !== size || shape[3] !== card.preprocess.channels) {
    throw new Error(`model input ${JSON.stringify(shape)} does not match the card's ${size}x${size}x${card.preprocess.channels}`);
  }
  const outputs = model.outputs[0].shape[1];
  if (outputs !== card.classes.length) throw new Error(`model has ${outputs} outputs, the card ${card.classes.length} classes`);
  return { model, card, version: card.version, backend, backendReason: '', location, loadMs: 0, bytes: 0 };
}

/** One inference on zeros: compiles shaders / allocates buffers so that the first real call is not slow. */
export function warmUp(loaded: LoadedModel): void {
  const { input_size: s, channels: c } = loaded.card.preprocess;
  tf.tidy(() => {
    (loaded.model.predict(tf.zeros([1, s, s, c])) as tf.Tensor).dataSync();
  });
}

/** Probabilities for preprocessed NHWC inputs (n images). */
export async function predictBatch(loaded: LoadedModel, nhwc: Float32Array, n: number): Promise<number[][]> {
  const { input_size: s, channels: c } = loaded.card.preprocess;
  const out = tf.tidy(() => loaded.model.predict(tf.tensor4d(nhwc, [n, s, s, c])) as tf.Tensor);
  try {
    return (await out.array()) as number[][];
  } finally {
    out.dispose();
  }
}

/** Logits and probabilities for preprocessed NHWC inputs; for parity checks. */
export async function predictWithLogits(loaded: LoadedModel, nhwc: Float32Array, n: number): Promise<{ logits: number[][]; probabilities: number[][] }> {
  const { input_size: s, channels: c } = loaded.card.preprocess;
  const sub = tf.model({ inputs: loaded.model.inputs, outputs: [loaded.model.getLayer(LOGITS_LAYER).output as tf.SymbolicTensor, loaded.model.outputs[0]] });
  const outs = tf.tidy(() => sub.predict(tf.tensor4d(nhwc, [n, s, s, c])) as tf.Tensor[]);
  try {
    return { logits: (await outs[0].array()) as number[][], probabilities: (await outs[1].array()) as number[][] };
  } finally {
    tf.dispose(outs);
  }
}

export function toClassification(loaded: LoadedModel, probabilities: number[], ms: number): Classification {
  let index = 0;
  probabilities.forEach((p, i) => {
    if (p > probabilities[index]) index = i;
  });
  return {
    probabilities,
    classes: loaded.card.classes,
    top: { label: loaded.card.classes[index], probability: probabilities[index], index },
    modelVersion: loaded.version,
    backend: loaded.backend,
    ms,
  };
}

/** Preprocess one raw slice exactly as the card says and classify it. */
export async function classify(loaded: LoadedModel, slice: RawSlice): Promise<Classification> {
  const t0 = now();
  const input = preprocess(slice, loaded.card.preprocess);
  const [probabilities] = await predictBatch(loaded, input, 1);
  return toClassification(loaded, probabilities, now() - t0);
}
