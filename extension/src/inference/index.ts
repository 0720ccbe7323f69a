/**
 * The viewer's inference module: no OHIF or Cornerstone dependency, usable in the browser and in Node.
 * Node-only helpers (reading a local folder) live in ./node and are imported from there explicitly.
 */
export { loadModel, classify, predictBatch, predictWithLogits, fromLayersModel, warmUp, toClassification } from './classifier';
export type { LoadOptions, LoadedModel } from './classifier';
export { activateBackend, backendCandidates, isSoftwareRenderer, webglRenderer } from './backend';
export type { BackendPreference } from './backend';
export { preprocess, checkSpec, triangleWeights, padToSquare, resizeSquare, robustUnit, toLuma } from './preprocess';
export { loadVerifiedArtifact, CARD_NAME, REGISTRY_INDEX } from './artifact';
export { urlSource } from './source';
export type { ArtifactSource, FetchLike } from './source';
export { sha256Hex, IntegrityError } from './sha256';
export { readDicomSlices, DicomReadError } from './dicomFile';
export type { DicomSlice } from './dicomFile';
export type * from './types';
