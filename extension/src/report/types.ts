/**
 * Shapes of the report module. Structural on purpose: the viewer's `Classification` / engine `Result`
 * (extension/src/inference/types.ts) fits `ReportClassification`, and OHIF's instance metadata fits `SourceInstance`,
 * without this module importing either.
 */

/** A Person Name as OHIF's metadata gives it: a string, `{ Alphabetic }`, or an array of those. */
export type PersonNameValue =
  string | { Alphabetic?: string } | Array<string | { Alphabetic?: string }> | null | undefined;

/** Naturalised metadata of one source instance (keys are DICOM keywords). */
export interface SourceInstance {
  SOPClassUID?: string;
  SOPInstanceUID?: string;
  SeriesInstanceUID?: string;
  StudyInstanceUID?: string;
  PatientName?: PersonNameValue;
  PatientID?: string;
  PatientBirthDate?: string;
  PatientSex?: string;
  StudyDate?: string;
  StudyTime?: string;
  AccessionNumber?: string;
  ReferringPhysicianName?: PersonNameValue;
  StudyID?: string;
  [keyword: string]: unknown;
}

export interface OutOfRangeAnswer {
  stage: 'metadata' | 'features';
  reason: string;
  score?: number;
  threshold?: number;
}

export interface ReportClassification {
  /** Ordered as `classes`; empty when declined by metadata (no inference ran). */
  probabilities: number[];
  classes: string[];
  top: { label: string; probability: number; index: number };
  outOfRange?: OutOfRangeAnswer | null;
  /** Feature-gate score, when the model has a gate. */
  score?: number;
  modelVersion?: string;
}

export interface SliceResult {
  /** Position in the series, 0-based (the SR says "slice index + 1"). */
  index: number;
  sopInstanceUID: string;
  /** The instance's SOP Class UID; taken from the source metadata when absent. */
  sopClassUID?: string;
  /**
   * 1-based frame of a multi-frame instance; absent (or null) for single-frame instances. Not the viewer's 0-based
   * `SliceIdentity.frame`: pass `identity.frame + 1`. It is written only when the instance's metadata has
   * NumberOfFrames > 1 (or when there is no metadata for the instance).
   */
  frame?: number | null;
  /** null: not classified (cancelled) or not readable (`error`). Such slices are counted, not written as groups. */
  classification: ReportClassification | null;
  error?: string | null;
}

export interface ModelIdentity {
  /** Model version (Algorithm Version), e.g. "2026.11.23-2". */
  version: string;
  /** SHA-256 (hex) of the model card file (an Algorithm Parameters item). */
  cardSha256: string;
  /** The model's classes in order; from the first classification when absent. */
  classes?: string[];
  /** Further Algorithm Parameters items, e.g. "calibration: temperature 1.31". */
  parameters?: string[];
}

/** The device that made the report (TID 1004). Defaults: DEFAULT_DEVICE. */
export interface DeviceIdentity {
  uid: string;
  name: string;
  manufacturer: string;
  modelName: string;
  softwareVersion: string;
}

export interface BuildInput {
  /** Metadata of the source instances (at least one; every referenced instance should be here). */
  instances: SourceInstance[];
  slices: SliceResult[];
  model: ModelIdentity;
  device?: Partial<DeviceIdentity>;
  /** Series Number of the SR series (default 9901). */
  seriesNumber?: number;
  /** Content date/time (default: now). */
  now?: Date;
}

/** A naturalised DICOM dataset (dcmjs's shape: keyword -> value, sequences as arrays of objects). */
export type NaturalDataset = Record<string, unknown>;

export interface BuiltReport {
  /** DICOM Part-10 file (Explicit VR Little Endian). */
  buffer: ArrayBuffer;
  dataset: NaturalDataset;
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  /** SHA-256 (hex) of the canonical results: equal results give equal hashes and the same SOP Instance UID. */
  resultsHash: string;
  /** Per-slice groups written (classified slices). */
  groups: number;
}

/** One slice as read back from an SR. */
export interface ParsedSlice {
  index: number;
  sopClassUID: string;
  sopInstanceUID: string;
  frame: number | null;
  /** The predicted class, or null when declined. */
  label: string | null;
  /** Ordered as `classes` of the report; empty when declined. */
  probabilities: number[];
  outOfRange: OutOfRangeAnswer | null;
  score?: number;
}

export interface ParsedSummary {
  slices: number;
  inRange: number;
  declined: number;
  unreadable: number;
  pending: number;
  calls: Record<string, number>;
  runs: { label: string; from: number; to: number; count: number; isolated: boolean }[];
  claimsTumour: boolean;
  /** Claimed tumour classes (series conclusion), empty when none. */
  claimed: string[];
  text: string;
}

export interface ParsedReport {
  studyInstanceUID: string;
  seriesInstanceUID: string;
  sopInstanceUID: string;
  /** Source series of the classified slices (from the evidence sequence), or '' when absent. */
  sourceSeriesInstanceUID: string;
  /** ContentDate + ContentTime as an ISO-like string "YYYY-MM-DDTHH:MM:SS" (local time of the writer), or ''. */
  contentDateTime: string;
  algorithmName: string;
  modelVersion: string;
  cardSha256: string;
  parameters: string[];
  classes: string[];
  deviceUID: string;
  slices: ParsedSlice[];
  summary: ParsedSummary | null;
}
