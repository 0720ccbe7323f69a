/** Shapes shared by the inference module: the model card (written by `ssclnet export`) and what callers pass in. */
import type { MetadataRule } from './inRange';

/** The preprocessing specification, as in trainer/ssclnet/preprocess.py (`PreprocessSpec.to_dict()`). */
export interface PreprocessSpec {
  input_size: number;
  channels: number;
  fit: string;
  resize: string;
  low_percentile: number;
  high_percentile: number;
  mean: number;
  std: number;
  color: string;
  version: number;
  [key: string]: unknown;
}

/** `calibration` (card_format 2): temperature scaling (Guo et al. 2017), calibrated p = softmax(logits / T). */
export interface CalibrationCard {
  method: 'temperature';
  temperature: number;
  fitted_on?: string;
  ece_before?: number;
  ece_after?: number;
  bins?: number;
  [key: string]: unknown;
}

/** `in_range.features` (card_format 2): the feature gate, class-conditional Gaussians with a shared covariance. */
export interface FeatureGateCard {
  method: 'mahalanobis-tied';
  /** Layer whose output is the feature vector (`avgpool`). */
  layer: string;
  dim: number;
  /** Little-endian float32: means [n_classes x dim], then precision [dim x dim], row-major; listed in `files`. */
  file: string;
  score?: string;
  /** score > threshold => out of range. */
  threshold: number;
  [key: string]: unknown;
}

export interface InRangeCard {
  /** Checks on DICOM attributes, before inference (inRange.ts; missing keys take its defaults). */
  metadata?: Partial<MetadataRule> | null;
  features?: FeatureGateCard | null;
  [key: string]: unknown;
}

export interface ModelCard {
  card_format: number;
  version: string;
  created: string;
  classes: string[];
  preprocess: PreprocessSpec;
  input: { size: number; shape: (number | null)[]; layout: string; dtype: string };
  dtype: 'float32' | 'float16' | 'uint8';
  metrics?: { accuracy?: number | null; macro_f1?: number | null; [key: string]: unknown };
  /** SHA-256 (hex) of model.json, every weight shard and the parity files, by path relative to the card. */
  files: Record<string, string>;
  calibration?: CalibrationCard | null;
  in_range?: InRangeCard | null;
  [key: string]: unknown;
}

/** `models.json` at the root of a registry (written by `ssclnet publish`). */
export interface RegistryIndex {
  latest: string;
  /** The administrator's message to viewers (`ssclnet publish --notice TEXT`), e.g. why latest changed. */
  notice?: string;
  versions: {
    version: string;
    path: string;
    card_sha256: string;
    created?: string;
    dtype?: string;
    metrics?: { accuracy?: number | null; macro_f1?: number | null; [key: string]: unknown };
    /** Withdrawn by the administrator (`ssclnet publish --withdraw VERSION --reason TEXT`): never loaded. */
    withdrawn?: boolean;
    withdrawn_reason?: string;
  }[];
}

export type PixelArray =
  | Uint8Array
  | Uint8ClampedArray
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** One slice as stored: row-major, interleaved channels, values before the modality LUT. */
export interface RawSlice {
  data: PixelArray | ArrayLike<number>;
  width: number;
  height: number;
  /** 1 (grayscale, default), 3 (RGB) or 4 (RGBA; alpha ignored). */
  channels?: 1 | 3 | 4;
  /** Modality LUT (DICOM Rescale Slope / Intercept). */
  slope?: number;
  intercept?: number;
  /** DICOM MONOCHROME1: low values are bright. */
  monochrome1?: boolean;
}

export type BackendName = 'webgl' | 'wasm' | 'cpu';

/** Why a slice was declined ("Outside the model's range: <reason>"). */
export interface OutOfRange {
  /** 'metadata': by its DICOM attributes, no inference ran. 'features': the forward pass ran, its features are unlike the training data. */
  stage: 'metadata' | 'features';
  reason: string;
  /** Feature-gate score and the card's threshold (stage 'features'). */
  score?: number;
  threshold?: number;
}

/** `top.label` of a declined result (`top.index` -1): the answer is the decline, not a class. */
export const OUT_OF_RANGE_LABEL = 'out of range';

export interface Classification {
  /**
   * Ordered as `classes`; calibrated (softmax(logits / T)) when the card has `calibration`. Empty when declined by
   * metadata (no inference ran); kept, for audit only, when declined by features.
   */
  probabilities: number[];
  classes: string[];
  /** The answer: the most probable class, or `{ label: OUT_OF_RANGE_LABEL, probability: 0, index: -1 }` when declined. */
  top: { label: string; probability: number; index: number };
  /** null: inside the model's range. Otherwise the answer is the decline: show the reason, never the probabilities. */
  outOfRange: OutOfRange | null;
  /** The model's own most probable class even when declined by features (audit); absent when no inference ran. */
  modelTop?: { label: string; probability: number; index: number };
  /** Feature-gate score (card with `in_range.features`). */
  score?: number;
  /** True when `probabilities` are temperature-calibrated. */
  calibrated?: boolean;
  modelVersion: string;
  backend: string;
  /** Preprocessing + inference time, milliseconds. */
  ms: number;
}
