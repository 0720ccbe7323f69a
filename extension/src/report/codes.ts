/**
 * Coded concepts of the classification SR (docs/results-to-pacs.md lists them with their sources).
 * DCM: DICOM PS3.16 (DCMR). SCT: SNOMED CT. UMLS: the UMLS CUI DICOM uses for "Qualitative Evaluations". UCUM: units.
 * 99SSCLNET: this project's private coding scheme (PS3.3 8.2: designators starting with "99" are private), declared
 * in each SR's Coding Scheme Identification Sequence; used where no standard concept exists.
 */

export interface Code {
  CodeValue: string;
  CodingSchemeDesignator: string;
  CodeMeaning: string;
}

const c = (CodeValue: string, CodingSchemeDesignator: string, CodeMeaning: string): Code => ({
  CodeValue,
  CodingSchemeDesignator,
  CodeMeaning,
});

export const PRIVATE_SCHEME = '99SSCLNET';

export const CODES = {
  // TID 1500 Measurement Report and its containers
  // CID 7021 Measurement Report Document Titles. The report uses "Oncology Measurement Report" (its findings are brain
  // tumour types); "Imaging Measurement Report" is recognised when reading (docs/results-to-pacs.md, OHIF).
  oncologyMeasurementReport: c('126001', 'DCM', 'Oncology Measurement Report'),
  imagingMeasurementReport: c('126000', 'DCM', 'Imaging Measurement Report'),
  languageOfContent: c('121049', 'DCM', 'Language of Content Item and Descendants'),
  englishUS: c('en-US', 'RFC5646', 'English (United States)'),
  procedureReported: c('121058', 'DCM', 'Procedure reported'),
  imagingProcedure: c('363679005', 'SCT', 'Imaging procedure'),
  imageLibrary: c('111028', 'DCM', 'Image Library'),
  imagingMeasurements: c('126010', 'DCM', 'Imaging Measurements'),
  qualitativeEvaluations: c('C0034375', 'UMLS', 'Qualitative Evaluations'),
  // TID 1001/1002/1004 observation context: the observer is a device
  observerType: c('121005', 'DCM', 'Observer Type'),
  device: c('121007', 'DCM', 'Device'),
  deviceObserverUID: c('121012', 'DCM', 'Device Observer UID'),
  deviceObserverName: c('121013', 'DCM', 'Device Observer Name'),
  deviceObserverManufacturer: c('121014', 'DCM', 'Device Observer Manufacturer'),
  deviceObserverModelName: c('121015', 'DCM', 'Device Observer Model Name'),
  // TID 1501 Measurement and Qualitative Evaluation Group, TID 4108 tracking
  measurementGroup: c('125007', 'DCM', 'Measurement Group'),
  trackingIdentifier: c('112039', 'DCM', 'Tracking Identifier'),
  trackingUniqueIdentifier: c('112040', 'DCM', 'Tracking Unique Identifier'),
  finding: c('121071', 'DCM', 'Finding'),
  source: c('260753009', 'SCT', 'Source'),
  // TID 4019 Algorithm Identification
  algorithmName: c('111001', 'DCM', 'Algorithm Name'),
  algorithmVersion: c('111003', 'DCM', 'Algorithm Version'),
  algorithmParameters: c('111002', 'DCM', 'Algorithm Parameters'),
  // Units (UCUM)
  unitProbability: c('{probability}', 'UCUM', 'probability'),
  unitSlices: c('{slices}', 'UCUM', 'slices'),
  unitNone: c('1', 'UCUM', 'no units'),
  // Private concepts (99SSCLNET)
  intendedUse: c('intended-use', PRIVATE_SCHEME, 'Intended use'),
  outOfRange: c('out-of-range', PRIVATE_SCHEME, "Outside the model's range"),
  declineStage: c('decline-stage', PRIVATE_SCHEME, 'Decline stage'),
  gateScore: c('gate-score', PRIVATE_SCHEME, 'Feature-gate score'),
  gateThreshold: c('gate-threshold', PRIVATE_SCHEME, 'Feature-gate threshold'),
  seriesConclusion: c('series-call', PRIVATE_SCHEME, 'Series conclusion'),
  noTumourClaimed: c('no-claim', PRIVATE_SCHEME, 'No tumour claimed'),
  seriesSummaryText: c('series-summary', PRIVATE_SCHEME, 'Series summary'),
  tumourRun: c('tumour-run', PRIVATE_SCHEME, 'Tumour call over adjacent slices'),
  firstSlice: c('first-slice', PRIVATE_SCHEME, 'First slice number'),
  lastSlice: c('last-slice', PRIVATE_SCHEME, 'Last slice number'),
  isolatedCall: c('isolated-call', PRIVATE_SCHEME, 'Isolated tumour call'),
  slicesTotal: c('n-slices', PRIVATE_SCHEME, 'Slices in series'),
  slicesInRange: c('n-in-range', PRIVATE_SCHEME, "Slices inside the model's range"),
  slicesDeclined: c('n-declined', PRIVATE_SCHEME, 'Slices declined'),
  slicesUnreadable: c('n-unreadable', PRIVATE_SCHEME, 'Slices not readable'),
  slicesPending: c('n-pending', PRIVATE_SCHEME, 'Slices not classified'),
} as const;

/**
 * The model's classes as SNOMED CT concepts (card class names as the trainer writes them). A class without an entry
 * gets a private code `class-<name>` so an SR can still be written for a model with other classes.
 */
export const CLASS_FINDINGS: Record<string, Code> = {
  glioma: c('393564001', 'SCT', 'Glioma'),
  meningioma: c('302820008', 'SCT', 'Intracranial meningioma'),
  pituitary: c('254956000', 'SCT', 'Pituitary adenoma'),
  notumor: c('281900007', 'SCT', 'No abnormality detected'),
};

/** The SH value limit of Code Value (16 characters). */
const short = (s: string): string => s.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 16);

export function findingForClass(label: string): Code {
  return CLASS_FINDINGS[label] ?? c(short(`class-${label}`), PRIVATE_SCHEME, `Class "${label}"`);
}

/** NUM concept name of one class probability: "Probability of glioma". */
export function probabilityConcept(label: string): Code {
  return c(short(`p-${label}`), PRIVATE_SCHEME, `Probability of ${label}`);
}

/** NUM concept name of the count of slices called one class. */
export function classCountConcept(label: string): Code {
  return c(short(`n-${label}`), PRIVATE_SCHEME, `Slices called ${label}`);
}

export function sameCode(a: Partial<Code> | undefined | null, b: Code): boolean {
  return !!a && a.CodeValue === b.CodeValue && a.CodingSchemeDesignator === b.CodingSchemeDesignator;
}

/** The card's class name for a Finding code (the inverse of findingForClass), or null. */
export function classForFinding(code: Partial<Code> | undefined | null, classes: string[]): string | null {
  if (!code) return null;
  for (const label of classes) if (sameCode(code, findingForClass(label))) return label;
  for (const [label, f] of Object.entries(CLASS_FINDINGS)) if (sameCode(code, f)) return label;
  if (code.CodingSchemeDesignator === PRIVATE_SCHEME && code.CodeValue?.startsWith('class-'))
    return code.CodeValue.slice(6);
  return null;
}
