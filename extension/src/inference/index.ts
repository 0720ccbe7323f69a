/**
 * The viewer's inference module: no OHIF or Cornerstone dependency, usable in the browser and in Node.
 * Node-only helpers (reading a local folder) live in ./node and are imported from there explicitly.
 */
export {
  loadModel,
  classify,
  classifyBatch,
  checkMetadata,
  declined,
  forward,
  interpret,
  predictBatch,
  predictWithLogits,
  fromLayersModel,
  warmUp,
  toClassification,
  featureScore,
  softmaxT,
  parseGaussians,
  trustFromCard,
} from './classifier';
export type { LoadOptions, LoadedModel, ClassifyOptions, FeatureGate, Trust, ForwardOutputs } from './classifier';
export { activateBackend, backendCandidates, isSoftwareRenderer, webglRenderer } from './backend';
export type { BackendPreference } from './backend';
export { preprocess, checkSpec, triangleWeights, padToSquare, resizeSquare, robustUnit, toLuma } from './preprocess';
export { loadVerifiedArtifact, safeRelativePath, CARD_NAME, REGISTRY_INDEX, CARD_FORMATS } from './artifact';
export { urlSource } from './source';
export type { ArtifactSource, FetchLike } from './source';
export { sha256Hex, IntegrityError } from './sha256';
export { readDicom, readDicomSlices, readDicomAttributes, DicomReadError } from './dicomFile';
export type { DicomSlice } from './dicomFile';
export { metadataGate, metadataDecline, metadataRule, angleFromAxial, planeOf, DEFAULT_METADATA_RULE } from './inRange';
export type { DicomAttributes, FrameAttributes, MetadataRule, Plane } from './inRange';
export { summariseSeries, formatSeriesSummary, NO_TUMOUR_CLASS } from './seriesSummary';
export type { SeriesSlice, SeriesSummary, TumourRun } from './seriesSummary';
export { OUT_OF_RANGE_LABEL } from './types';
export type * from './types';
export {
  gradcam,
  gradcamBatch,
  releaseGradcam,
  heatmapOnImage,
  colorize,
  camLayerName,
  DEFAULT_CAM_LAYER,
} from './gradcam';
export type { GradCam, GradCamOptions, CamLayer, CamMethod } from './gradcam';
