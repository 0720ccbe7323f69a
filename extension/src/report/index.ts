/**
 * Classification results as a DICOM Structured Report (issue 13): build (TID 1500 Comprehensive SR with dcmjs),
 * read back, recognise ours, store with STOW-RS and find prior results with QIDO-RS/WADO-RS.
 * No OHIF or Cornerstone imports: pure functions and a DICOMweb client taking a fetch function.
 * See docs/results-to-pacs.md.
 */
export {
  buildClassificationSR,
  writePart10,
  ReportInputError,
  ALGORITHM_NAME,
  COMPREHENSIVE_SR,
  DEFAULT_DEVICE,
  DEFAULT_SERIES_NUMBER,
  SERIES_DESCRIPTION,
  RESEARCH_USE_TEXT,
} from './build';
export { slicesFromOutcomes } from './slices';
export { parseClassificationSR, isOurSR, readPart10, fromDicomJson, ReportParseError } from './parse';
export { storeInstances, findPriorResults, stowBody, multipartParts, StoreError } from './dicomweb';
export type { FetchFn, StoreProgress, StoreResult, StoreErrorKind, PriorResults } from './dicomweb';
export { CODES, CLASS_FINDINGS, PRIVATE_SCHEME, findingForClass, probabilityConcept } from './codes';
export type { Code } from './codes';
export { uidFromName, isValidUid, UID_ROOT } from './uid';
export type * from './types';
