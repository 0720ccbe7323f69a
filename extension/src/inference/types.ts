/** Shapes shared by the inference module: the model card (written by `ssclnet export`) and what callers pass in. */

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

export interface ModelCard {
  card_format: number;
  version: string;
  created: string;
  classes: string[];
  preprocess: PreprocessSpec;
  input: { size: number; shape: (number | null)[]; layout: string; dtype: string };
  dtype: 'float32' | 'float16';
  metrics?: { accuracy?: number | null; macro_f1?: number | null; [key: string]: unknown };
  /** SHA-256 (hex) of model.json, every weight shard and the parity files, by path relative to the card. */
  files: Record<string, string>;
  [key: string]: unknown;
}

/** `models.json` at the root of a registry (written by `ssclnet publish`). */
export interface RegistryIndex {
  latest: string;
  versions: { version: string; path: string; card_sha256: string; created?: string; dtype?: string }[];
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

export interface Classification {
  /** Ordered as `classes`. */
  probabilities: number[];
  classes: string[];
  top: { label: string; probability: number; index: number };
  modelVersion: string;
  backend: string;
  /** Preprocessing + inference time, milliseconds. */
  ms: number;
}
