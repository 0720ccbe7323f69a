/**
 * The classification result of one series as a DICOM Comprehensive SR following TID 1500 "Measurement Report"
 * (docs/results-to-pacs.md: the tree, the codes, the UIDs). Pure: no OHIF, no Cornerstone; dcmjs writes Part 10.
 */
import dcmjs from 'dcmjs';
import { summariseSeries, formatSeriesSummary, NO_TUMOUR_CLASS } from '../inference/seriesSummary';
import type { Classification } from '../inference/types';
import { CODES, PRIVATE_SCHEME, classCountConcept, findingForClass, probabilityConcept } from './codes';
import type { Code } from './codes';
import { codeItem, container, imageItem, numItem, textItem, uidrefItem } from './content';
import type { Item } from './content';
import type {
  BuildInput,
  BuiltReport,
  DeviceIdentity,
  NaturalDataset,
  PersonNameValue,
  SliceResult,
  SourceInstance,
} from './types';
import { isValidUid, sha256HexOfText, uidFromName } from './uid';

export const COMPREHENSIVE_SR = '1.2.840.10008.5.1.4.1.1.88.33';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** The algorithm's name in every SR (Algorithm Name, TID 4019): how `isOurSR` recognises ours. */
export const ALGORITHM_NAME = 'SSCLNet brain MRI slice classifier';
export const SERIES_DESCRIPTION = 'SSCLNet classification';
export const DEFAULT_SERIES_NUMBER = 9901;
export const RESEARCH_USE_TEXT =
  'Research use only, not for diagnosis. The classifier looks at one 2-D axial slice at a time and knows four classes; ' +
  'it has not been validated on other sequences, orientations, pathologies or populations.';
/** Implementation Class UID of the files we write (File Meta Information), from the project's UID root. */
export const IMPLEMENTATION_CLASS_UID = uidFromName('ssclnet-ohif', 'implementation-class');
export const IMPLEMENTATION_VERSION_NAME = 'SSCLNET_OHIF_1';

/**
 * The device observer (TID 1004): this plugin, not a person. Device Observer UID is fixed for the product (one UID
 * under 2.25 derived from its name), so every installation's SRs are recognisably this algorithm's.
 */
export const DEFAULT_DEVICE: DeviceIdentity = {
  uid: uidFromName('ssclnet-ohif', 'device-observer'),
  name: 'SSCLNet for OHIF',
  manufacturer: 'SSCLNet for OHIF project',
  modelName: 'SSCLNet OHIF extension',
  softwareVersion: '0.1.0',
};

/** A refusal with a message meant for the user ("why no SR was written"). */
export class ReportInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportInputError';
  }
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
export const dicomDate = (d: Date): string => `${d.getFullYear()}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
export const dicomTime = (d: Date): string => `${pad(d.getHours())}${pad(d.getMinutes())}${pad(d.getSeconds())}`;

const str = (v: unknown): string => {
  if (v == null) return '';
  if (Array.isArray(v)) return v.length ? str(v[0]) : '';
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
};

/** PN as dcmjs writes it: [{ Alphabetic, Ideographic?, Phonetic? }], or '' (empty type-2 value). */
function personName(v: PersonNameValue): unknown {
  const first = Array.isArray(v) ? v[0] : v;
  if (first == null || first === '') return '';
  if (typeof first === 'string') return [{ Alphabetic: first }];
  if (typeof first === 'object') {
    const o = first as Record<string, unknown>;
    const out: Record<string, string> = {};
    for (const k of ['Alphabetic', 'Ideographic', 'Phonetic'])
      if (typeof o[k] === 'string' && o[k]) out[k] = o[k] as string;
    return Object.keys(out).length ? [out] : '';
  }
  return '';
}

/** The four-decimal canonical form used for the results hash (backends differ by ~1e-7, see docs/viewer.md). */
const q = (x: number): number => Math.round(x * 1e4) / 1e4;

function canonicalResults(slices: SliceResult[], model: BuildInput['model'], classes: string[]): string {
  return JSON.stringify({
    model: [model.version, model.cardSha256.toLowerCase(), classes],
    slices: [...slices]
      .sort((a, b) => a.index - b.index)
      .map((s) => {
        const c = s.classification;
        if (!c) return [s.index, s.sopInstanceUID, s.frame ?? null, null, s.error ? 'unreadable' : 'pending'];
        const oor = c.outOfRange ? [c.outOfRange.stage, c.outOfRange.reason] : null;
        return [
          s.index,
          s.sopInstanceUID,
          s.frame ?? null,
          c.outOfRange ? null : c.top.label,
          c.outOfRange ? [] : c.probabilities.map(q),
          oor,
        ];
      }),
  });
}

/**
 * TID 4019 Algorithm Identification. The report-level copy (in the Qualitative Evaluations container) has the
 * parameters (model card SHA-256, classes, the caller's); each slice group carries name and version only, which keeps
 * a 500-slice SR small (the parameters are optional rows of TID 4019).
 */
function algorithmIdentification(model: BuildInput['model'], classes: string[], withParameters: boolean): Item[] {
  const params = withParameters
    ? [
        `model card SHA-256: ${model.cardSha256.toLowerCase()}`,
        `classes: ${classes.join(', ')}`,
        ...(model.parameters ?? []),
      ]
    : [];
  return [
    textItem('HAS CONCEPT MOD', CODES.algorithmName, ALGORITHM_NAME),
    textItem('HAS CONCEPT MOD', CODES.algorithmVersion, model.version),
    ...params.map((p) => textItem('HAS CONCEPT MOD', CODES.algorithmParameters, p)),
  ];
}

interface Resolved {
  slice: SliceResult;
  sopClassUID: string;
  seriesUID: string;
  /** Referenced Frame Number to write (1-based), null for single-frame instances. */
  frame: number | null;
}

/** Checks the input and returns the study, the source series and each slice's SOP class and series. */
function resolve(input: BuildInput): {
  study: SourceInstance;
  studyUID: string;
  resolved: Resolved[];
  classes: string[];
} {
  const { instances, slices, model } = input;
  if (!instances?.length)
    throw new ReportInputError(
      'No source instance metadata: the SR needs the patient and study of the classified series.',
    );
  const study = instances[0];
  const studyUID = str(study.StudyInstanceUID);
  if (!studyUID) {
    throw new ReportInputError(
      'The source instance has no Study Instance UID: an SR cannot be attached to its study, so none was written.',
    );
  }
  if (!isValidUid(studyUID))
    throw new ReportInputError(`The source Study Instance UID "${studyUID}" is not a valid DICOM UID.`);
  for (const inst of instances) {
    const u = str(inst.StudyInstanceUID);
    if (u && u !== studyUID)
      throw new ReportInputError(
        `The slices come from two studies (${studyUID} and ${u}); one SR describes one study.`,
      );
  }
  if (!model?.version) throw new ReportInputError('No model version: the SR must say which model made the results.');
  if (!/^[0-9a-fA-F]{64}$/.test(model.cardSha256 ?? ''))
    throw new ReportInputError('The model card SHA-256 is missing or not 64 hex digits.');
  const written = slices.filter((s) => s.classification);
  if (!written.length) throw new ReportInputError('No classified slice: there is nothing to report.');
  const bySop = new Map<string, SourceInstance>();
  for (const inst of instances) if (inst.SOPInstanceUID) bySop.set(str(inst.SOPInstanceUID), inst);
  const seriesOfAll = new Set(instances.map((i) => str(i.SeriesInstanceUID)).filter(Boolean));
  const resolved: Resolved[] = [];
  const seenIndex = new Set<number>();
  for (const s of slices) {
    if (!Number.isInteger(s.index) || s.index < 0)
      throw new ReportInputError(`Slice index ${s.index} is not a 0-based integer.`);
    if (seenIndex.has(s.index)) throw new ReportInputError(`Slice index ${s.index} appears twice.`);
    seenIndex.add(s.index);
    if (!s.classification) continue;
    if (!isValidUid(s.sopInstanceUID))
      throw new ReportInputError(`Slice ${s.index + 1} has no valid SOP Instance UID ("${s.sopInstanceUID ?? ''}").`);
    const inst = bySop.get(s.sopInstanceUID);
    const sopClassUID = s.sopClassUID || str(inst?.SOPClassUID);
    if (!isValidUid(sopClassUID))
      throw new ReportInputError(`Slice ${s.index + 1} (${s.sopInstanceUID}) has no SOP Class UID in its metadata.`);
    const seriesUID = str(inst?.SeriesInstanceUID) || (seriesOfAll.size === 1 ? [...seriesOfAll][0] : '');
    if (!isValidUid(seriesUID))
      throw new ReportInputError(
        `Slice ${s.index + 1} (${s.sopInstanceUID}): its series is unknown (no metadata for it).`,
      );
    if (s.frame != null && (!Number.isInteger(s.frame) || s.frame < 1))
      throw new ReportInputError(`Slice ${s.index + 1}: frame ${s.frame} is not a 1-based frame number.`);
    // Referenced Frame Number only for multi-frame instances
    // (NumberOfFrames absent means one frame; without metadata for the instance the caller's frame is kept)
    const frames = inst ? Number(str(inst.NumberOfFrames) || 1) : NaN;
    const frame = s.frame != null && !(frames <= 1) ? s.frame : null;
    resolved.push({ slice: s, sopClassUID, seriesUID, frame });
  }
  const classes = model.classes?.length
    ? model.classes
    : (written.find((s) => s.classification!.classes?.length)?.classification!.classes ?? []);
  if (!classes.length) throw new ReportInputError('The model classes are unknown.');
  for (const r of resolved) {
    const c = r.slice.classification!;
    if (c.outOfRange) continue;
    if (c.probabilities.length !== classes.length) {
      throw new ReportInputError(
        `Slice ${r.slice.index + 1}: ${c.probabilities.length} probabilities for ${classes.length} classes.`,
      );
    }
    if (!c.probabilities.every((p) => Number.isFinite(p) && p >= 0 && p <= 1))
      throw new ReportInputError(`Slice ${r.slice.index + 1}: a probability is not in [0, 1].`);
  }
  return { study, studyUID, resolved, classes };
}

function sliceGroup(r: Resolved, classes: string[], trackingUID: string, algorithm: Item[]): Item {
  const s = r.slice;
  const c = s.classification!;
  const items: Item[] = [
    textItem('HAS OBS CONTEXT', CODES.trackingIdentifier, `slice ${s.index + 1}`),
    uidrefItem('HAS OBS CONTEXT', CODES.trackingUniqueIdentifier, trackingUID),
  ];
  if (!c.outOfRange) items.push(codeItem('CONTAINS', CODES.finding, findingForClass(c.top.label)));
  items.push(...algorithm);
  items.push(imageItem('CONTAINS', CODES.source, r.sopClassUID, s.sopInstanceUID, r.frame));
  if (c.outOfRange) {
    items.push(textItem('CONTAINS', CODES.outOfRange, c.outOfRange.reason || 'outside the model range'));
    items.push(textItem('CONTAINS', CODES.declineStage, c.outOfRange.stage));
    if (Number.isFinite(c.outOfRange.score))
      items.push(numItem('CONTAINS', CODES.gateScore, c.outOfRange.score!, CODES.unitNone, true));
    if (Number.isFinite(c.outOfRange.threshold))
      items.push(numItem('CONTAINS', CODES.gateThreshold, c.outOfRange.threshold!, CODES.unitNone, true));
  } else {
    classes.forEach((label, i) =>
      items.push(numItem('CONTAINS', probabilityConcept(label), c.probabilities[i], CODES.unitProbability, true)),
    );
    if (Number.isFinite(c.score)) items.push(numItem('CONTAINS', CODES.gateScore, c.score!, CODES.unitNone, true));
  }
  return container('CONTAINS', CODES.measurementGroup, items);
}

function summaryItems(slices: SliceResult[], classes: string[], algorithm: Item[]): Item[] {
  // The viewer's own rule (extension/src/inference/seriesSummary.ts); it reads only top.label, outOfRange and classes.
  const summary = summariseSeries(
    slices.map((s) => ({
      index: s.index,
      classification: s.classification as unknown as Classification | null,
      error: s.error ?? null,
    })),
    { classes },
  );
  const claimed = [...new Set(summary.runs.filter((r) => r.count >= 2).map((r) => r.label))];
  const items: Item[] = [...algorithm];
  if (claimed.length)
    for (const label of claimed) items.push(codeItem('CONTAINS', CODES.seriesConclusion, findingForClass(label)));
  else items.push(codeItem('CONTAINS', CODES.seriesConclusion, CODES.noTumourClaimed));
  items.push(textItem('CONTAINS', CODES.seriesSummaryText, formatSeriesSummary(summary)));
  const count = (name: Code, n: number): Item => numItem('CONTAINS', name, n, CODES.unitSlices);
  items.push(
    count(CODES.slicesTotal, summary.slices),
    count(CODES.slicesInRange, summary.inRange),
    count(CODES.slicesDeclined, summary.declined),
  );
  if (summary.unreadable) items.push(count(CODES.slicesUnreadable, summary.unreadable));
  if (summary.pending) items.push(count(CODES.slicesPending, summary.pending));
  for (const label of classes) items.push(count(classCountConcept(label), summary.calls[label] ?? 0));
  for (const run of summary.runs) {
    const props: Item[] = [
      numItem('HAS PROPERTIES', CODES.firstSlice, run.from, CODES.unitNone),
      numItem('HAS PROPERTIES', CODES.lastSlice, run.to, CODES.unitNone),
    ];
    if (run.isolated)
      props.push(textItem('HAS PROPERTIES', CODES.isolatedCall, 'a single slice whose neighbours say otherwise'));
    items.push(codeItem('CONTAINS', CODES.tumourRun, findingForClass(run.label), props));
  }
  return items;
}

/**
 * Builds the SR. Throws ReportInputError (a message for the user) when it cannot: no Study Instance UID, slices of two
 * studies, a slice without SOP Class/Instance UID or series, no classified slice, wrong probability count.
 * Missing patient/study attributes other than the Study Instance UID are written empty (they are type 2).
 */
export function buildClassificationSR(input: BuildInput): BuiltReport {
  const { study, studyUID, resolved, classes } = resolve(input);
  const device: DeviceIdentity = { ...DEFAULT_DEVICE, ...(input.device ?? {}) };
  const now = input.now ?? new Date();
  const model = input.model;
  const sourceSeries = [...new Set(resolved.map((r) => r.seriesUID))].sort();
  const seriesUID = uidFromName('ssclnet-sr-series', studyUID, sourceSeries.join('\\'), model.version);
  const resultsHash = sha256HexOfText(canonicalResults(input.slices, model, classes));
  const sopUID = uidFromName('ssclnet-sr-instance', seriesUID, resultsHash);
  const algorithm = algorithmIdentification(model, classes, false);
  const ordered = [...resolved].sort((a, b) => a.slice.index - b.slice.index);

  const groups = ordered.map((r) =>
    sliceGroup(
      r,
      classes,
      uidFromName('ssclnet-tracking', seriesUID, r.slice.sopInstanceUID, String(r.frame ?? 1)),
      algorithm,
    ),
  );

  const root = container(null, CODES.oncologyMeasurementReport, [
    codeItem('HAS CONCEPT MOD', CODES.languageOfContent, CODES.englishUS),
    codeItem('HAS OBS CONTEXT', CODES.observerType, CODES.device),
    uidrefItem('HAS OBS CONTEXT', CODES.deviceObserverUID, device.uid),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverName, device.name),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverManufacturer, device.manufacturer),
    textItem('HAS OBS CONTEXT', CODES.deviceObserverModelName, device.modelName),
    codeItem('HAS CONCEPT MOD', CODES.procedureReported, CODES.imagingProcedure),
    // first content after the context, so every SR view (OHIF's included) shows it before any finding
    textItem('CONTAINS', CODES.intendedUse, RESEARCH_USE_TEXT),
    // TID 1600 Image Library, without entries: each slice group references its source image itself, and library
    // entries (IMAGE items without a concept name) make OHIF 3.13's SR text view fail (docs/results-to-pacs.md)
    container('CONTAINS', CODES.imageLibrary, []),
    container('CONTAINS', CODES.imagingMeasurements, groups),
    container(
      'CONTAINS',
      CODES.qualitativeEvaluations,
      summaryItems(input.slices, classes, algorithmIdentification(model, classes, true)),
    ),
  ]);

  // Evidence: every referenced instance, grouped by series (SR Document General Module).
  const evidenceSeries = new Map<string, Map<string, string>>();
  for (const r of ordered) {
    const m = evidenceSeries.get(r.seriesUID) ?? new Map<string, string>();
    m.set(r.slice.sopInstanceUID, r.sopClassUID);
    evidenceSeries.set(r.seriesUID, m);
  }

  const date = dicomDate(now);
  const time = dicomTime(now);
  const dataset: NaturalDataset = {
    // SOP Common
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: COMPREHENSIVE_SR,
    SOPInstanceUID: sopUID,
    InstanceCreationDate: date,
    InstanceCreationTime: time,
    CodingSchemeIdentificationSequence: [
      {
        CodingSchemeDesignator: PRIVATE_SCHEME,
        CodingSchemeName: 'SSCLNet for OHIF local codes',
        CodingSchemeVersion: '1',
        CodingSchemeResponsibleOrganization: 'SSCLNet for OHIF project',
      },
    ],
    // Patient (copied; type 2: empty when the source lacks it)
    PatientName: personName(study.PatientName),
    PatientID: str(study.PatientID),
    PatientBirthDate: str(study.PatientBirthDate),
    PatientSex: str(study.PatientSex),
    // General Study (copied)
    StudyInstanceUID: studyUID,
    StudyDate: str(study.StudyDate),
    StudyTime: str(study.StudyTime),
    ReferringPhysicianName: personName(study.ReferringPhysicianName),
    StudyID: str(study.StudyID),
    AccessionNumber: str(study.AccessionNumber),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: seriesUID,
    SeriesNumber: String(input.seriesNumber ?? DEFAULT_SERIES_NUMBER),
    SeriesDate: date,
    SeriesTime: time,
    SeriesDescription: SERIES_DESCRIPTION,
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment
    Manufacturer: device.manufacturer,
    ManufacturerModelName: device.modelName,
    SoftwareVersions: device.softwareVersion,
    // SR Document General
    InstanceNumber: '1',
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    ContentDate: date,
    ContentTime: time,
    PerformedProcedureCodeSequence: [],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: studyUID,
        ReferencedSeriesSequence: [...evidenceSeries].map(([series, sops]) => ({
          SeriesInstanceUID: series,
          ReferencedSOPSequence: [...sops].map(([sop, cls]) => ({
            ReferencedSOPClassUID: cls,
            ReferencedSOPInstanceUID: sop,
          })),
        })),
      },
    ],
    // SR Document Content (root container)
    ...root,
    ContentTemplateSequence: [
      { MappingResource: 'DCMR', MappingResourceUID: '1.2.840.10008.8.1.1', TemplateIdentifier: '1500' },
    ],
  };

  const buffer = writePart10(dataset);
  return {
    buffer,
    dataset,
    studyInstanceUID: studyUID,
    seriesInstanceUID: seriesUID,
    sopInstanceUID: sopUID,
    resultsHash,
    groups: groups.length,
  };
}

/** Writes a naturalised dataset as a Part-10 file (Explicit VR Little Endian) with dcmjs. */
export function writePart10(dataset: NaturalDataset): ArrayBuffer {
  const { DicomDict, DicomMetaDictionary } = dcmjs.data;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return dict.write();
}

export { NO_TUMOUR_CLASS };
