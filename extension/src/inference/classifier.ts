/**
 * Loading a verified model and classifying slices. Tensors live inside tf.tidy or are disposed explicitly,
 * so repeated calls do not leak (tested over 1,000 calls).
 *
 * One forward pass gives what the card asks for: the `avgpool` features (feature gate), the logits (calibration)
 * and the model's probabilities. The answer for one slice:
 *  1. metadata gate (when DICOM attributes are given): declined before any inference, `probabilities` [];
 *  2. probabilities: softmax(logits / T) when the card has `calibration`, else the model's softmax output;
 *  3. feature gate (card `in_range.features`): score = min over classes c of (f - mu_c)^T P (f - mu_c), computed
 *     in float64; score > threshold => declined, probabilities kept for audit, `top` is the decline.
 */
import * as tf from '@tensorflow/tfjs';

import { loadVerifiedArtifact } from './artifact';
import { activateBackend, type BackendPreference } from './backend';
import { metadataGate, metadataRule, type DicomAttributes, type MetadataRule } from './inRange';
import { checkSpec, preprocess } from './preprocess';
import { urlSource, type ArtifactSource, type FetchLike } from './source';
import { OUT_OF_RANGE_LABEL, type Classification, type ModelCard, type OutOfRange, type RawSlice } from './types';

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
  /** WebGL renderer string known to the caller (e.g. detected in a Web Worker); see activateBackend. */
  renderer?: string | null;
}

/** The feature gate, ready to score: class means and the shared precision matrix, float64. */
export interface FeatureGate {
  layer: string;
  dim: number;
  nClasses: number;
  /** [nClasses x dim] row-major. */
  means: Float64Array;
  /** [dim x dim] row-major. */
  precision: Float64Array;
  threshold: number;
}

/** What the card says about trust, parsed once at load. */
export interface Trust {
  /** Temperature T of the calibration, or null (probabilities as the model gives them). */
  temperature: number | null;
  gate: FeatureGate | null;
  /** The metadata rule (the card's, or the defaults for card_format 1). */
  metadata: MetadataRule;
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
  trust: Trust;
  /**
   * Sub-model with the outputs one forward pass needs: [features (when gated)], logits, probabilities.
   * null for a model without a `logits` layer (then only the probabilities output is used).
   */
  heads: tf.LayersModel | null;
}

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

export async function loadModel(options: LoadOptions): Promise<LoadedModel> {
  const t0 = now();
  const source = options.source ?? (options.url ? urlSource(options.url, options.fetch) : undefined);
  if (!source) throw new Error('loadModel: give a url (registry or model folder) or a source');
  const backend = await activateBackend(options.backend ?? 'auto', options.wasmPaths, options.renderer);
  const artifact = await loadVerifiedArtifact(source, options.version);
  checkSpec(artifact.card.preprocess);
  const model = await tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: artifact.modelJson.modelTopology,
      weightSpecs: artifact.weightSpecs as tf.io.WeightsManifestEntry[],
      weightData: artifact.weightData,
    }),
  );
  const loaded = fromLayersModel(model, artifact.card, backend.name, artifact.location, artifact.gaussians);
  warmUp(loaded);
  return { ...loaded, backendReason: backend.reason, loadMs: now() - t0, bytes: artifact.bytes };
}

/** Means and precision from `ood/gaussians.bin` (little-endian float32: means [K x D], then precision [D x D]). */
export function parseGaussians(
  bytes: Uint8Array,
  nClasses: number,
  dim: number,
): { means: Float64Array; precision: Float64Array } {
  const want = 4 * (nClasses * dim + dim * dim);
  if (bytes.byteLength !== want)
    throw new Error(`gaussians file has ${bytes.byteLength} bytes; ${nClasses} classes x ${dim} dims need ${want}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const all = new Float64Array(nClasses * dim + dim * dim);
  for (let i = 0; i < all.length; i++) all[i] = view.getFloat32(4 * i, true);
  return { means: all.subarray(0, nClasses * dim), precision: all.subarray(nClasses * dim) };
}

/** The card's trust settings; `gaussians` are the verified bytes of `in_range.features.file`. */
export function trustFromCard(card: ModelCard, gaussians?: Uint8Array | null): Trust {
  const temperature = card.calibration?.method === 'temperature' ? card.calibration.temperature : null;
  const g = card.in_range?.features;
  let gate: FeatureGate | null = null;
  if (g) {
    if (!gaussians) throw new Error(`the model card has a feature gate but ${g.file} was not loaded`);
    const { means, precision } = parseGaussians(gaussians, card.classes.length, g.dim);
    gate = { layer: g.layer, dim: g.dim, nClasses: card.classes.length, means, precision, threshold: g.threshold };
  }
  return { temperature, gate, metadata: metadataRule(card.in_range?.metadata ?? null) };
}

/** Wrap an already built model (tests, or a model from elsewhere) with its card (and feature-gate bytes, if any). */
export function fromLayersModel(
  model: tf.LayersModel,
  card: ModelCard,
  backend = tf.getBackend(),
  location = 'memory',
  gaussians: Uint8Array | null = null,
): LoadedModel {
  const size = card.preprocess.input_size;
  const shape = model.inputs[0].shape;
  if (shape[1] !== size || shape[2] !== size || shape[3] !== card.preprocess.channels) {
    throw new Error(
      `model input ${JSON.stringify(shape)} does not match the card's ${size}x${size}x${card.preprocess.channels}`,
    );
  }
  const outputs = model.outputs[0].shape[1];
  if (outputs !== card.classes.length)
    throw new Error(`model has ${outputs} outputs, the card ${card.classes.length} classes`);
  const trust = trustFromCard(card, gaussians);
  const layer = (name: string): tf.layers.Layer | null => {
    try {
      return model.getLayer(name);
    } catch {
      return null;
    }
  };
  const logits = layer(LOGITS_LAYER);
  if (!logits && (trust.temperature !== null || trust.gate))
    throw new Error(`the model has no '${LOGITS_LAYER}' layer, which the card's calibration/feature gate need`);
  let heads: tf.LayersModel | null = null;
  if (logits) {
    const outs: tf.SymbolicTensor[] = [];
    if (trust.gate) {
      const f = layer(trust.gate.layer);
      if (!f) throw new Error(`the model has no layer '${trust.gate.layer}' for the feature gate`);
      const fshape = (f.output as tf.SymbolicTensor).shape;
      if (fshape.length !== 2 || fshape[1] !== trust.gate.dim) {
        throw new Error(
          `feature layer '${trust.gate.layer}' gives ${JSON.stringify(fshape)}, the card says ${trust.gate.dim} features`,
        );
      }
      outs.push(f.output as tf.SymbolicTensor);
    }
    outs.push(logits.output as tf.SymbolicTensor, model.outputs[0]);
    heads = tf.model({ inputs: model.inputs, outputs: outs });
  }
  return {
    model,
    card,
    version: card.version,
    backend,
    backendReason: '',
    location,
    loadMs: 0,
    bytes: 0,
    trust,
    heads,
  };
}

/** One inference on zeros: compiles shaders / allocates buffers so that the first real call is not slow. */
export function warmUp(loaded: LoadedModel): void {
  const { input_size: s, channels: c } = loaded.card.preprocess;
  tf.tidy(() => {
    const out = (loaded.heads ?? loaded.model).predict(tf.zeros([1, s, s, c]));
    (Array.isArray(out) ? out : [out]).forEach((t) => t.dataSync());
  });
}

/** The model's own probabilities (softmax output) for preprocessed NHWC inputs (n images). */
export async function predictBatch(loaded: LoadedModel, nhwc: Float32Array, n: number): Promise<number[][]> {
  const { input_size: s, channels: c } = loaded.card.preprocess;
  const out = tf.tidy(() => loaded.model.predict(tf.tensor4d(nhwc, [n, s, s, c])) as tf.Tensor);
  try {
    return (await out.array()) as number[][];
  } finally {
    out.dispose();
  }
}

/** Everything one forward pass gives, per image. `features` only when the card has a feature gate. */
export interface ForwardOutputs {
  features: Float32Array[] | null;
  logits: number[][] | null;
  probabilities: number[][];
}

export async function forward(loaded: LoadedModel, nhwc: Float32Array, n: number): Promise<ForwardOutputs> {
  if (!loaded.heads) return { features: null, logits: null, probabilities: await predictBatch(loaded, nhwc, n) };
  const { input_size: s, channels: c } = loaded.card.preprocess;
  const heads = loaded.heads;
  const outs = tf.tidy(() => heads.predict(tf.tensor4d(nhwc, [n, s, s, c])) as tf.Tensor[]);
  try {
    const gated = loaded.trust.gate !== null;
    const [f, l, p] = gated ? outs : [null, outs[0], outs[1]];
    let features: Float32Array[] | null = null;
    if (f) {
      const flat = (await f.data()) as Float32Array;
      const d = f.shape[1] as number;
      features = Array.from({ length: n }, (_, i) => flat.slice(i * d, (i + 1) * d));
    }
    return { features, logits: (await l!.array()) as number[][], probabilities: (await p.array()) as number[][] };
  } finally {
    tf.dispose(outs);
  }
}

/** Logits and probabilities for preprocessed NHWC inputs; for parity checks. */
export async function predictWithLogits(
  loaded: LoadedModel,
  nhwc: Float32Array,
  n: number,
): Promise<{ logits: number[][]; probabilities: number[][] }> {
  const { input_size: s, channels: c } = loaded.card.preprocess;
  const sub = tf.model({
    inputs: loaded.model.inputs,
    outputs: [loaded.model.getLayer(LOGITS_LAYER).output as tf.SymbolicTensor, loaded.model.outputs[0]],
  });
  const outs = tf.tidy(() => sub.predict(tf.tensor4d(nhwc, [n, s, s, c])) as tf.Tensor[]);
  try {
    return { logits: (await outs[0].array()) as number[][], probabilities: (await outs[1].array()) as number[][] };
  } finally {
    tf.dispose(outs);
  }
}

/** softmax(logits / T) in float64. */
export function softmaxT(logits: ArrayLike<number>, temperature = 1): number[] {
  const z = Array.from(logits, (v) => v / temperature);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/** min over classes c of (f - mu_c)^T P (f - mu_c), float64. */
export function featureScore(gate: FeatureGate, f: ArrayLike<number>): number {
  const { dim, nClasses, means, precision } = gate;
  if (f.length !== dim) throw new Error(`feature vector has ${f.length} values, the gate ${dim}`);
  const d = new Float64Array(dim);
  let best = Infinity;
  for (let c = 0; c < nClasses; c++) {
    for (let i = 0; i < dim; i++) d[i] = f[i] - means[c * dim + i];
    let s = 0;
    for (let i = 0; i < dim; i++) {
      let acc = 0;
      const row = i * dim;
      for (let j = 0; j < dim; j++) acc += precision[row + j] * d[j];
      s += d[i] * acc;
    }
    if (s < best) best = s;
  }
  return best;
}

function argmax(p: number[]): number {
  let index = 0;
  p.forEach((v, i) => {
    if (v > p[index]) index = i;
  });
  return index;
}

/** 3 significant digits, no exponent for the usual range: 812, 64.2, 0.513. */
const fmt = (x: number): string => (Math.abs(x) >= 1000 ? x.toFixed(0) : Number(x.toPrecision(3)).toString());

const DECLINED_TOP = (): Classification['top'] => ({ label: OUT_OF_RANGE_LABEL, probability: 0, index: -1 });

/** The answer from the model's probabilities (card_format 1 style; no gate, no calibration). */
export function toClassification(loaded: LoadedModel, probabilities: number[], ms: number): Classification {
  const index = argmax(probabilities);
  return {
    probabilities,
    classes: loaded.card.classes,
    top: { label: loaded.card.classes[index], probability: probabilities[index], index },
    outOfRange: null,
    modelVersion: loaded.version,
    backend: loaded.backend,
    ms,
  };
}

/** The answer for image i of a forward pass: calibration, then the feature gate. */
export function interpret(loaded: LoadedModel, out: ForwardOutputs, i: number, ms: number): Classification {
  const { temperature, gate } = loaded.trust;
  const calibrated = temperature !== null && out.logits !== null;
  const probabilities = calibrated ? softmaxT(out.logits![i], temperature!) : out.probabilities[i];
  const result = toClassification(loaded, probabilities, ms);
  if (calibrated) result.calibrated = true;
  if (gate && out.features) {
    const score = featureScore(gate, out.features[i]);
    result.score = score;
    if (!(score <= gate.threshold)) {
      result.modelTop = result.top;
      result.top = DECLINED_TOP();
      result.outOfRange = {
        stage: 'features',
        reason: `unlike the images the model was trained on (feature score ${fmt(score)} > ${fmt(gate.threshold)})`,
        score,
        threshold: gate.threshold,
      };
    }
  }
  return result;
}

/** A result declined before inference (metadata gate): no probabilities. */
export function declined(loaded: LoadedModel, outOfRange: OutOfRange, ms = 0): Classification {
  return {
    probabilities: [],
    classes: loaded.card.classes,
    top: DECLINED_TOP(),
    outOfRange,
    modelVersion: loaded.version,
    backend: loaded.backend,
    ms,
  };
}

/** The metadata gate with this model's rule: an OutOfRange when declined, else null. */
export function checkMetadata(loaded: LoadedModel, attributes: DicomAttributes): OutOfRange | null {
  const reason = metadataGate(attributes, loaded.trust.metadata);
  return reason === null ? null : { stage: 'metadata', reason };
}

/** Classify n preprocessed NHWC inputs in one forward pass (the gate and calibration applied to each). */
export async function classifyBatch(loaded: LoadedModel, nhwc: Float32Array, n: number): Promise<Classification[]> {
  const t0 = now();
  const out = await forward(loaded, nhwc, n);
  const ms = (now() - t0) / n;
  return Array.from({ length: n }, (_, i) => interpret(loaded, out, i, ms));
}

export interface ClassifyOptions {
  /** DICOM attributes of the slice's frame: the metadata gate runs first and may decline without inference. */
  attributes?: DicomAttributes | null;
}

/** Preprocess one raw slice exactly as the card says and classify it (metadata gate first when attributes are given). */
export async function classify(
  loaded: LoadedModel,
  slice: RawSlice,
  options: ClassifyOptions = {},
): Promise<Classification> {
  const t0 = now();
  if (options.attributes) {
    const out = checkMetadata(loaded, options.attributes);
    if (out) return declined(loaded, out, now() - t0);
  }
  const input = preprocess(slice, loaded.card.preprocess);
  const out = await forward(loaded, input, 1);
  return interpret(loaded, out, 0, now() - t0);
}
