/**
 * Where the model looked: Grad-CAM (Selvaraju et al. 2017) for one class of a loaded model, in TensorFlow.js.
 * No DOM: runs in a Web Worker, on wasm, webgl or cpu. The PyTorch twin is `ssclnet explain`
 * (trainer/ssclnet/explain.py); tests/fixtures/gradcam/ holds the two together (tests/unit/gradcam.test.ts).
 *
 * For the class c (default: the predicted one, argmax of the logits) with logit y_c and the activation A of the
 * target layer (K maps of h x w):
 *     alpha_k = mean_ij d y_c / d A_k[i,j]        raw = ReLU(sum_k alpha_k A_k)            (h x w)
 *     heatmap = min-max to 0..1 of raw upsampled bilinearly (half-pixel centres) to the input size S x S;
 *               all zeros when raw is flat (no positive evidence).
 * Grad-CAM++ (Chattopadhyay et al. 2018) is available as `method: 'gradcam++'` (compared in docs/results.md).
 *
 * Target layer: the output of ResNet stage 3 (`layer3_1_out`, 8 x 8 at 128^2 input); `layer4_1_out` is only 4 x 4
 * there. Stage 3's maps are finer and pass the model-randomisation check clearly, and deletion is as selective
 * as with stage 4's (docs/results.md, "Where the model looks", has the figures).
 *
 * Cost: one forward pass to the target layer, the rest of the network (stage 4 + head) replayed under tf.grad,
 * and its backward pass to the target activation only (no weight gradients, nothing below the target layer):
 * about 1.5x the classification's forward pass on wasm (tools/bench/bench-gradcam.ts).
 *
 * Do not call it for a declined slice (Classification.outOfRange set): there is no answer to explain.
 *
 * The heatmap is in the model's input frame: the slice padded to a square (centred, `padToSquare`) and resized to
 * S x S. `heatmapOnImage` maps it back onto the slice's own pixel grid (width x height), for drawing aligned with
 * the image; `colorize` turns a heatmap into RGBA.
 */
import * as tf from '@tensorflow/tfjs';

import type { LoadedModel } from './classifier';

const LOGITS_LAYER = 'logits';
export type CamMethod = 'gradcam' | 'gradcam++';
/** A ResNet stage ('layer1'..'layer4': its last block's output) or any tfjs layer name of the model. */
export type CamLayer = 'layer1' | 'layer2' | 'layer3' | 'layer4' | (string & {});
export const DEFAULT_CAM_LAYER: CamLayer = 'layer3';

export interface GradCamOptions {
  layer?: CamLayer;
  method?: CamMethod;
}

export interface GradCam {
  /** S x S, row-major, 0..1: the normalised heatmap at the model's input resolution. */
  heatmap: Float32Array;
  size: number;
  /** h x w, row-major: ReLU(sum_k alpha_k A_k) before upsampling and normalisation (not normalised). */
  raw: Float32Array;
  rawHeight: number;
  rawWidth: number;
  /** The class explained (the predicted one unless a class was asked for). */
  classIndex: number;
  /** The model's logits and softmax probabilities (no temperature) for this input. */
  logits: number[];
  probabilities: number[];
  /** tfjs layer name of the target activation, e.g. 'layer3_1_out'. */
  layer: string;
  method: CamMethod;
  /** Milliseconds for this call (whole batch when computed by gradcamBatch). */
  ms: number;
}

interface Step {
  layer: tf.layers.Layer;
  inputs: string[];
}

interface Plan {
  target: string;
  trunk: tf.LayersModel;
  steps: Step[];
  /** Per Conv2D layer: its kernel reversed in space with in/out channels swapped (for the input gradient). */
  flipped: Map<string, tf.Tensor4D>;
}

const plans = new WeakMap<tf.LayersModel, Map<string, Plan>>();

const now = (): number => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** 'layer3' -> 'layer3_1_out' (ResNet-18: two blocks per stage); other names as given. */
export function camLayerName(layer: CamLayer): string {
  return /^layer[1-4]$/.test(layer) ? `${layer}_1_out` : layer;
}

function inboundNames(layer: tf.layers.Layer): string[] {
  const nodes = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
  if (!nodes || nodes.length === 0) return [];
  return nodes[0].inboundLayers.map((l) => l.name);
}

/**
 * The trunk (input -> target activation) and the layers from the target to the logits, in topological order,
 * each with the names of its inputs. Cached per model and target.
 */
function planFor(model: tf.LayersModel, target: string): Plan {
  let byTarget = plans.get(model);
  if (!byTarget) plans.set(model, (byTarget = new Map()));
  const cached = byTarget.get(target);
  if (cached) return cached;
  const targetLayer = model.getLayer(target);
  model.getLayer(LOGITS_LAYER);
  // Layers the logits need, walking back from the logits and stopping at the target.
  const needed = new Set<string>();
  const todo = [LOGITS_LAYER];
  while (todo.length) {
    const name = todo.pop()!;
    if (name === target || needed.has(name)) continue;
    const inputs = inboundNames(model.getLayer(name));
    if (inputs.length === 0)
      throw new Error(`gradcam: the logits depend on '${name}', which is not after the target layer '${target}'`);
    needed.add(name);
    todo.push(...inputs);
  }
  const steps: Step[] = model.layers
    .filter((l) => needed.has(l.name))
    .map((layer) => ({ layer, inputs: inboundNames(layer) }));
  const trunk = tf.model({ inputs: model.inputs, outputs: targetLayer.output as tf.SymbolicTensor });
  const plan: Plan = { target, trunk, steps, flipped: new Map() };
  byTarget.set(target, plan);
  return plan;
}

/** The logits from the target activation, by calling the layers after it in order (inference mode). */
function replay(plan: Plan, activation: tf.Tensor): tf.Tensor2D {
  const values = new Map<string, tf.Tensor>([[plan.target, activation]]);
  for (const { layer, inputs } of plan.steps) {
    const xs = inputs.map((n) => {
      const v = values.get(n);
      if (!v) throw new Error(`gradcam: layer '${layer.name}' needs '${n}', not computed yet`);
      return v;
    });
    values.set(
      layer.name,
      layer.getClassName() === 'Conv2D'
        ? conv2d(plan, layer, xs[0])
        : (layer.apply(xs.length === 1 ? xs[0] : xs, { training: false }) as tf.Tensor),
    );
  }
  return values.get(LOGITS_LAYER) as tf.Tensor2D;
}

/**
 * A Conv2D layer as tf.conv2d with its input gradient written as a forward convolution.
 * The layer itself calls tf.fused.conv2d, whose gradient always computes the filter gradient too
 * (Conv2DBackpropFilter: wasted work here, and a kernel the wasm backend lacks), and tf.conv2d's input gradient is
 * Conv2DBackpropInput, a plain loop on wasm (measured about 3x the cost of the whole forward pass). The input
 * gradient of a convolution is the convolution of dy with the kernel flipped in space and with its in/out channels
 * swapped (dy dilated by the stride and padded), which runs on the backend's fast (XNNPACK) convolution.
 * Supported: stride 1 with 'same' padding and odd kernels, or any stride with 'valid' padding (the export writes
 * every strided conv as ZeroPadding2D + 'valid'); anything else falls back to tf.conv2d's own gradient.
 */
function conv2d(plan: Plan, layer: tf.layers.Layer, x: tf.Tensor): tf.Tensor {
  const cfg = layer.getConfig() as {
    strides: number[];
    padding: 'valid' | 'same';
    dataFormat?: string;
    dilationRate: number | number[];
    activation?: string;
    useBias?: boolean;
  };
  if ((cfg.dataFormat ?? 'channelsLast') !== 'channelsLast')
    throw new Error(`gradcam: ${layer.name} is not channels-last`);
  // A folded export fuses the ReLU after BatchNorm into the conv (trainer/ssclnet/tfjs_layers.py).
  const activation = cfg.activation ?? 'linear';
  if (activation !== 'linear' && activation !== 'relu')
    throw new Error(`gradcam: ${layer.name} has a fused activation gradcam does not replay (${activation})`);
  const [kernel, bias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor | undefined];
  const [kh, kw] = kernel.shape;
  const [sh, sw] = cfg.strides;
  const d = Array.isArray(cfg.dilationRate) ? cfg.dilationRate : [cfg.dilationRate, cfg.dilationRate];
  const fast =
    d[0] === 1 && d[1] === 1 && (cfg.padding === 'valid' || (sh === 1 && sw === 1 && kh % 2 === 1 && kw % 2 === 1));
  let y: tf.Tensor4D;
  if (!fast) {
    y = tf.conv2d(x as tf.Tensor4D, kernel, [sh, sw], cfg.padding, 'NHWC', d as [number, number]);
  } else {
    let flipped = plan.flipped.get(layer.name);
    if (!flipped) {
      flipped = tf.keep(tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D));
      plan.flipped.set(layer.name, flipped);
    }
    y = conv2dInputGrad(x as tf.Tensor4D, kernel, flipped, [sh, sw], cfg.padding);
  }
  const z = cfg.useBias && bias ? tf.add(y, bias) : y;
  return activation === 'relu' ? tf.relu(z) : z;
}

/**
 * tf.conv2d (NHWC, no dilation) whose gradient with respect to x is computed as a forward convolution of dy
 * (dilated by the stride, padded) with `flipped` = the kernel reversed in space with in/out channels swapped.
 * 'same' padding only at stride 1 with odd kernels. Exported for the tests.
 */
export function conv2dInputGrad(
  x: tf.Tensor4D,
  kernel: tf.Tensor4D,
  flipped: tf.Tensor4D,
  strides: [number, number],
  padding: 'valid' | 'same',
): tf.Tensor4D {
  const [kh, kw] = kernel.shape;
  const [sh, sw] = strides;
  if (padding === 'same' && (sh !== 1 || sw !== 1 || kh % 2 === 0 || kw % 2 === 0))
    throw new Error("conv2dInputGrad: 'same' padding needs stride 1 and an odd kernel");
  const f = tf.customGrad((...inputs: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xin = inputs[0] as tf.Tensor4D;
    const value = tf.conv2d(xin, kernel, [sh, sw], padding, 'NHWC');
    const gradFunc = (dy: tf.Tensor4D): tf.Tensor => {
      if (padding === 'same') return tf.conv2d(dy as tf.Tensor4D, flipped, 1, 'same', 'NHWC');
      const [n, ho, wo, co] = dy.shape as [number, number, number, number];
      const [hin, win] = [xin.shape[1], xin.shape[2]];
      // Dilate dy by the stride (zeros after each row/column): [n, ho*sh, wo*sw, co], dy at multiples of the stride.
      // Rank-4 pads only: WebGL's packed pad shader fails to compile for rank 5 (tfjs 4.22, SwiftShader).
      let g = dy as tf.Tensor4D;
      if (sh > 1)
        g = tf.reshape(
          tf.pad(tf.reshape(g, [n * ho, 1, wo, co]), [
            [0, 0],
            [0, sh - 1],
            [0, 0],
            [0, 0],
          ]),
          [n, ho * sh, wo, co],
        );
      if (sw > 1)
        g = tf.reshape(
          tf.pad(tf.reshape(g, [n * ho * sh, wo, 1, co]), [
            [0, 0],
            [0, 0],
            [0, sw - 1],
            [0, 0],
          ]),
          [n, ho * sh, wo * sw, co],
        );
      // Full correlation with the flipped kernel: k-1 zeros before, and after whatever makes the output hin x win
      // (a 'valid' conv over k-1 + L + R values gives L + R, L = the dilated length).
      const ph = hin - ho * sh;
      const pw = win - wo * sw;
      if (ph < 0 || pw < 0)
        g = tf.slice(g, [0, 0, 0, 0], [n, ho * sh + Math.min(ph, 0), wo * sw + Math.min(pw, 0), co]);
      g = tf.pad(g, [
        [0, 0],
        [kh - 1, Math.max(ph, 0)],
        [kw - 1, Math.max(pw, 0)],
        [0, 0],
      ]);
      return tf.conv2d(g, flipped, 1, 'valid', 'NHWC');
    };
    return { value, gradFunc };
  });
  return f(x) as tf.Tensor4D;
}

/**
 * Frees what Grad-CAM cached for a model (sub-models and flipped kernels: about the size of the layers after the
 * target, 34 MB for layer3 on ResNet-18 in float32). Call before disposing the model; the next gradcam rebuilds them.
 */
export function releaseGradcam(loaded: Pick<LoadedModel, 'model'>): void {
  const byTarget = plans.get(loaded.model);
  if (!byTarget) return;
  for (const p of byTarget.values()) tf.dispose([...p.flipped.values()]);
  plans.delete(loaded.model);
}

/**
 * Grad-CAM of n preprocessed NHWC inputs. `classIndex`: one class for all, one per input, or undefined for each
 * input's predicted class.
 */
export async function gradcamBatch(
  loaded: LoadedModel,
  nhwc: Float32Array,
  n: number,
  classIndex?: number | number[],
  options: GradCamOptions = {},
): Promise<GradCam[]> {
  const t0 = now();
  const { input_size: s, channels: c } = loaded.card.preprocess;
  if (nhwc.length !== n * s * s * c)
    throw new Error(`gradcam: ${nhwc.length} values for ${n} input(s) of ${s}x${s}x${c}`);
  const classes = loaded.card.classes.length;
  const wanted =
    classIndex === undefined ? null : Array.isArray(classIndex) ? classIndex : new Array<number>(n).fill(classIndex);
  if (wanted && (wanted.length !== n || wanted.some((k) => !Number.isInteger(k) || k < 0 || k >= classes))) {
    throw new Error(`gradcam: class index must be an integer in 0..${classes - 1} (one, or one per input)`);
  }
  const method = options.method ?? 'gradcam';
  if (method !== 'gradcam' && method !== 'gradcam++') throw new Error(`gradcam: unknown method '${method as string}'`);
  const plan = planFor(loaded.model, camLayerName(options.layer ?? DEFAULT_CAM_LAYER));

  let logits: tf.Tensor2D | null = null;
  const [heat, raw] = tf.tidy(() => {
    const a = plan.trunk.predict(tf.tensor4d(nhwc, [n, s, s, c])) as tf.Tensor4D;
    if (a.rank !== 4) throw new Error(`gradcam: target layer '${plan.target}' is not a 4-D feature map`);
    const score = (act: tf.Tensor): tf.Scalar => {
      const l = replay(plan, act);
      logits = tf.keep(l);
      const mask = wanted ? tf.oneHot(tf.tensor1d(wanted, 'int32'), classes) : tf.oneHot(tf.argMax(l, 1), classes);
      return tf.sum(tf.mul(l, mask));
    };
    const g = tf.grad(score)(a) as tf.Tensor4D;
    let weights: tf.Tensor;
    if (method === 'gradcam') {
      weights = tf.mean(g, [1, 2], true);
    } else {
      const g2 = tf.square(g);
      const denom = tf.add(tf.mul(2, g2), tf.mul(tf.sum(a, [1, 2], true), tf.mul(g2, g)));
      const safe = tf.where(tf.notEqual(denom, 0), denom, tf.onesLike(denom));
      weights = tf.sum(tf.mul(tf.div(g2, safe), tf.relu(g)), [1, 2], true);
    }
    const cam = tf.relu(tf.sum(tf.mul(a, weights), 3, true)) as tf.Tensor4D; // [n, h, w, 1]
    const up = tf.image.resizeBilinear(cam, [s, s], false, true);
    const lo = tf.min(up, [1, 2, 3], true);
    const hi = tf.max(up, [1, 2, 3], true);
    const span = tf.sub(hi, lo);
    const ok = tf.greater(span, tf.mul(1e-12, tf.maximum(tf.abs(hi), 1e-30)));
    const norm = tf.where(ok, tf.div(tf.sub(up, lo), tf.where(ok, span, tf.onesLike(span))), tf.zerosLike(up));
    return [norm, cam];
  });
  const l = logits as unknown as tf.Tensor2D;
  try {
    const [heatData, rawData, logitRows] = await Promise.all([heat.data(), raw.data(), l.array()]);
    const [h, w] = [raw.shape[1] as number, raw.shape[2] as number];
    const ms = now() - t0;
    return logitRows.map((row, i) => {
      const probabilities = softmax(row);
      return {
        heatmap: (heatData as Float32Array).slice(i * s * s, (i + 1) * s * s),
        size: s,
        raw: (rawData as Float32Array).slice(i * h * w, (i + 1) * h * w),
        rawHeight: h,
        rawWidth: w,
        classIndex: wanted ? wanted[i] : argmax(row),
        logits: row,
        probabilities,
        layer: plan.target,
        method,
        ms,
      };
    });
  } finally {
    tf.dispose([heat, raw, l]);
  }
}

/** Grad-CAM of one preprocessed NHWC slice (S x S x C) for `classIndex` (default: the predicted class). */
export async function gradcam(
  loaded: LoadedModel,
  nhwcInput: Float32Array,
  classIndex?: number,
  options: GradCamOptions = {},
): Promise<GradCam> {
  const [r] = await gradcamBatch(loaded, nhwcInput, 1, classIndex, options);
  return r;
}

function argmax(v: number[]): number {
  let k = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[k]) k = i;
  return k;
}

function softmax(v: number[]): number[] {
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / z);
}

/**
 * The heatmap on the slice's own pixel grid (width x height, row-major), undoing the preprocessing's geometry:
 * centred pad to a square of side max(width, height), then resize to S. Bilinear, half-pixel centres. Pixel (x, y)
 * of the slice is pixel (x, y) of the result, so drawn in image coordinates it stays aligned under pan and zoom.
 */
export function heatmapOnImage(cam: Pick<GradCam, 'heatmap' | 'size'>, width: number, height: number): Float32Array {
  const s = cam.size;
  const m = Math.max(width, height);
  const top = Math.floor((m - height) / 2);
  const left = Math.floor((m - width) / 2);
  const scale = s / m;
  const out = new Float32Array(width * height);
  const axis = (p: number, offset: number): [number, number, number] => {
    const u = Math.min(Math.max((p + offset + 0.5) * scale - 0.5, 0), s - 1);
    const i0 = Math.floor(u);
    return [i0, Math.min(i0 + 1, s - 1), u - i0];
  };
  const cols = Array.from({ length: width }, (_, x) => axis(x, left));
  for (let y = 0; y < height; y++) {
    const [r0, r1, fy] = axis(y, top);
    for (let x = 0; x < width; x++) {
      const [c0, c1, fx] = cols[x];
      const a = cam.heatmap[r0 * s + c0] * (1 - fx) + cam.heatmap[r0 * s + c1] * fx;
      const b = cam.heatmap[r1 * s + c0] * (1 - fx) + cam.heatmap[r1 * s + c1] * fx;
      out[y * width + x] = a * (1 - fy) + b * fy;
    }
  }
  return out;
}

/**
 * RGBA (Uint8ClampedArray, 4 bytes a pixel, ImageData order) of a 0..1 heatmap with the 'jet' colour map.
 * Alpha = opacity x 255, and 0 below `threshold` (so the weakest evidence leaves the image untouched).
 */
export function colorize(heatmap: ArrayLike<number>, opacity = 0.45, threshold = 0.2): Uint8ClampedArray {
  const out = new Uint8ClampedArray(heatmap.length * 4);
  const a = Math.round(Math.min(Math.max(opacity, 0), 1) * 255);
  for (let i = 0; i < heatmap.length; i++) {
    const v = Math.min(Math.max(heatmap[i], 0), 1);
    out[4 * i] = 255 * jet(v - 0.25);
    out[4 * i + 1] = 255 * jet(v);
    out[4 * i + 2] = 255 * jet(v + 0.25);
    out[4 * i + 3] = v < threshold ? 0 : a;
  }
  return out;
}

/** One channel of the classic 'jet' map (matplotlib's, piecewise linear), sampled at v shifted per channel. */
function jet(v: number): number {
  return Math.min(Math.max(1.5 - Math.abs(4 * v - 2), 0), 1);
}
