/**
 * What crosses the boundary between the viewer (main thread) and the inference engine (a Web Worker by default,
 * or the main thread for comparison): plain, structured-cloneable data only.
 */
import type { BackendPreference } from '../inference/backend';
import type { Classification, ModelCard, OutOfRange, RawSlice } from '../inference/types';
import type { DicomAttributes } from '../inference/inRange';
import type { ParsedReport } from '../report/types';

/** This algorithm's earlier SRs in a study (report/dicomweb.ts findPriorResults). */
export interface PriorResults {
  reports: ParsedReport[];
  skipped: { sopInstanceUID: string; reason: string }[];
}

export type { OutOfRange, DicomAttributes };

/**
 * A classification as the viewer handles it (the inference module's Classification). `outOfRange` non-null means
 * the model declined the slice: views show the reason in grey, never probabilities.
 */
export type Result = Classification;

export interface ModelInfo {
  version: string;
  card: ModelCard;
  backend: string;
  backendReason: string;
  loadMs: number;
  bytes: number;
  /** Where the model runs: 'worker' (default) or 'main' (configuration `inference: 'main'`). */
  where: 'worker' | 'main';
  /** What answered: backend, wasm build and thread count, isolation, model bytes fetched vs from the cache. */
  runtime?: EngineRuntime;
}

/** How the engine runs (issue 16); `label` is the short text for the panel, e.g. "wasm SIMD, 2 threads". */
export interface EngineRuntime {
  backend: string;
  label: string;
  /** XNNPACK threads of the wasm backend (null on other backends). */
  threads: number | null;
  simd: boolean | null;
  /** The threaded wasm build is running (needs cross-origin isolation). */
  threaded: boolean | null;
  crossOriginIsolated: boolean;
  /** Model file bytes of this load read over the network, and from Cache Storage (keyed by SHA-256). */
  modelBytesFetched: number;
  modelBytesFromCache: number;
}

export interface LoadRequest {
  /** Registry folder URL (with models.json). */
  registryUrl: string;
  /** The version to load (the registry's `latest` when absent). */
  version?: string;
  /** models.json as the model service read it (one fetch per check): the engine does not fetch it again. */
  indexText?: string;
  backend?: BackendPreference;
  wasmPaths?: string;
  /** XNNPACK threads for the wasm backend where cross-origin isolated (default: one per logical core). */
  wasmThreads?: number;
}

export interface ClassifyRequest {
  slice: RawSlice;
  /** DICOM attributes for the metadata gate; null for inputs without them (a dropped JPEG/PNG). */
  attributes?: DicomAttributes | null;
}

/** A local file (dropped on the panel), read and classified inside the engine. */
export interface FileRequest {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/** What the model saw of a dropped file: its preprocessed input as 8-bit grey (the panel's thumbnail). */
export interface FilePreview {
  width: number;
  height: number;
  gray: Uint8Array;
}

export interface FileResult extends Result {
  preview: FilePreview | null;
}

export interface EngineInfo {
  where: 'worker' | 'main';
  /** The tfjs backend active in the engine's realm ('' before a model is loaded). */
  backend: string;
  /** tfjs backends registered in the engine's realm. */
  registeredBackends: string[];
  modelVersion: string | null;
  /** As in ModelInfo (null before a model is loaded). */
  runtime?: EngineRuntime | null;
}

/** Grad-CAM of the displayed slice (issue 14): classified first; no heatmap for a declined slice. */
export interface ExplainRequest extends ClassifyRequest {
  /** Class to explain (default: the predicted one). */
  classIndex?: number;
  /** Colour-map threshold (heatmap values below it are transparent). */
  threshold?: number;
}

export interface ExplainResult {
  classification: Result;
  /** null when the slice was declined (no answer to explain). */
  heatmap: null | {
    /** RGBA (jet colour map, alpha 255 or 0 below the threshold) on the slice's own pixel grid, width x height. */
    rgba: Uint8ClampedArray;
    width: number;
    height: number;
    classIndex: number;
    label: string;
    /** Grad-CAM time (ms) and the classification's (preprocessing + forward + gates), same call, same worker. */
    ms: number;
    forwardMs: number;
    layer: string;
  };
}

/** Inputs of buildClassificationSR (extension/src/report), plain data. */
export interface ReportBuildRequest {
  instances: Record<string, unknown>[];
  slices: unknown[];
  model: { version: string; cardSha256: string; classes?: string[]; parameters?: string[] };
}

export interface ReportBuilt {
  buffer: ArrayBuffer;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  groups: number;
  bytes: number;
  ms: number;
}

/** STOW-RS of one Part-10 file; failures come back as a value (kind, status, message), not a thrown error. */
export interface ReportStoreRequest {
  root: string;
  buffer: ArrayBuffer;
  sopInstanceUID: string;
}

export type ReportStoreResult =
  | { ok: true; status: number; stored: string[]; warnings: string[] }
  | { ok: false; kind: string; status: number | null; message: string };

export interface PriorLookupRequest {
  root: string;
  studyInstanceUID: string;
}

/** The object the inference bundle (dist/ssclnet-inference.js) exports and the worker drives. */
export interface InferenceCoreLike {
  load(request: LoadRequest): Promise<ModelInfo>;
  /** Reads and checks every file of a version against its SHA-256 without using it. */
  verify(request: LoadRequest): Promise<{ version: string; bytes: number }>;
  classify(request: ClassifyRequest): Promise<Result>;
  classifyFile(request: FileRequest): Promise<FileResult>;
  info(): Promise<EngineInfo>;
  /** Grad-CAM (optional: stand-in engines in tests may leave it out). */
  explain?(request: ExplainRequest): Promise<ExplainResult>;
  /** The classification SR, built off the page's thread (dcmjs is slow for long series). */
  buildReport?(request: ReportBuildRequest): Promise<ReportBuilt>;
  storeReport?(request: ReportStoreRequest): Promise<ReportStoreResult>;
  findPriorResults?(request: PriorLookupRequest): Promise<PriorResults>;
}

/** The engine as the services see it (worker or main thread): the core's methods, where they run, and dispose. */
export interface InferenceEngine extends InferenceCoreLike {
  readonly where: 'worker' | 'main';
  dispose(): void;
}

export type CoreMethod = keyof InferenceCoreLike;
export interface WorkerRequest {
  id: number;
  method: CoreMethod;
  args: unknown;
}
export type WorkerResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
