/**
 * What crosses the boundary between the viewer (main thread) and the inference engine (a Web Worker by default,
 * or the main thread for comparison): plain, structured-cloneable data only.
 */
import type { BackendPreference } from '../inference/backend';
import type { Classification, ModelCard, OutOfRange, RawSlice } from '../inference/types';
import type { DicomAttributes } from '../inference/inRange';

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

export interface EngineInfo {
  where: 'worker' | 'main';
  /** The tfjs backend active in the engine's realm ('' before a model is loaded). */
  backend: string;
  /** tfjs backends registered in the engine's realm. */
  registeredBackends: string[];
  modelVersion: string | null;
}

/** The engine as the services see it (worker or main thread). */
export interface InferenceEngine {
  readonly where: 'worker' | 'main';
  load(request: LoadRequest): Promise<ModelInfo>;
  /** Reads and checks every file of a version against its SHA-256 without using it. */
  verify(request: LoadRequest): Promise<{ version: string; bytes: number }>;
  classify(request: ClassifyRequest): Promise<Result>;
  classifyFile(request: FileRequest): Promise<Result>;
  info(): Promise<EngineInfo>;
  dispose(): void;
}

/** The object the inference bundle (dist/ssclnet-inference.js) exports and the worker drives. */
export interface InferenceCoreLike {
  load(request: LoadRequest): Promise<ModelInfo>;
  verify(request: LoadRequest): Promise<{ version: string; bytes: number }>;
  classify(request: ClassifyRequest): Promise<Result>;
  classifyFile(request: FileRequest): Promise<Result>;
  info(): Promise<EngineInfo>;
}

export type CoreMethod = keyof InferenceCoreLike;
export interface WorkerRequest { id: number; method: CoreMethod; args: unknown }
export type WorkerResponse = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
