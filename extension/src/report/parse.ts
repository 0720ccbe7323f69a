/** Reading a classification SR back (prior results): from a Part-10 buffer, a naturalised dataset or DICOM JSON. */
import dcmjs from 'dcmjs';
import { ALGORITHM_NAME, DEFAULT_DEVICE } from './build';
import { CODES, PRIVATE_SCHEME, classCountConcept, classForFinding, probabilityConcept, sameCode } from './codes';
import { children, codeOf, find, findAll, is, nameOf, numOf, seq, textOf } from './content';
import type { Item } from './content';
import type { NaturalDataset, OutOfRangeAnswer, ParsedReport, ParsedSlice, ParsedSummary } from './types';

const SR_SOP_CLASSES = new Set([
  '1.2.840.10008.5.1.4.1.1.88.11', // Basic Text SR
  '1.2.840.10008.5.1.4.1.1.88.22', // Enhanced SR
  '1.2.840.10008.5.1.4.1.1.88.33', // Comprehensive SR
  '1.2.840.10008.5.1.4.1.1.88.34', // Comprehensive 3D SR
]);

export class ReportParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportParseError';
  }
}

const str = (v: unknown): string => (v == null ? '' : Array.isArray(v) ? str(v[0]) : String(v));

/** A Part-10 file as a naturalised dataset (dcmjs). */
export function readPart10(buffer: ArrayBuffer | Uint8Array): NaturalDataset {
  const ab =
    buffer instanceof Uint8Array
      ? buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength)
      : buffer;
  let dict;
  try {
    dict = dcmjs.data.DicomMessage.readFile(ab);
  } catch (e) {
    throw new ReportParseError(`Not a readable DICOM file: ${e instanceof Error ? e.message : String(e)}`);
  }
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict.dict) as NaturalDataset;
  if (/ISO_IR 192/.test(str(ds.SpecificCharacterSet)))
    for (const v of Object.values(ds)) if (Array.isArray(v)) v.forEach(redecodeNested);
  return ds;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * dcmjs 0.52 decodes strings inside sequence items as Latin-1 even when the dataset says ISO_IR 192 (the item's
 * sub-stream does not inherit the decoder), so "88°" comes back as "88Â°". Inside sequences of a UTF-8 dataset,
 * a string whose code units are all < 256 and form valid UTF-8 is re-decoded as UTF-8.
 */
function redecodeNested(node: unknown): void {
  if (!node || typeof node !== 'object') return;
  const o = node as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'string') o[k] = fixString(v);
    else if (Array.isArray(v)) v.forEach((x, i) => (typeof x === 'string' ? (v[i] = fixString(x)) : redecodeNested(x)));
    else if (v && typeof v === 'object') redecodeNested(v);
  }
}

function fixString(s: string): string {
  let high = false;
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code > 0xff) return s; // already decoded beyond Latin-1
    if (code >= 0x80) high = true;
  }
  if (!high) return s;
  try {
    return utf8.decode(Uint8Array.from(s, (ch) => ch.charCodeAt(0)));
  } catch {
    return s;
  }
}

/** DICOM JSON (PS3.18 F.2, as QIDO-RS / WADO-RS metadata return it) as a naturalised dataset. */
export function fromDicomJson(json: Record<string, unknown>): NaturalDataset {
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(json) as NaturalDataset;
}

function algorithmOf(item: Record<string, unknown>): { name: string; version: string; parameters: string[] } | null {
  const name = textOf(find(item, CODES.algorithmName, 'TEXT'));
  if (name == null) return null;
  return {
    name,
    version: textOf(find(item, CODES.algorithmVersion, 'TEXT')) ?? '',
    parameters: findAll(item, CODES.algorithmParameters, 'TEXT').map((x) => textOf(x) ?? ''),
  };
}

function rootContainers(ds: NaturalDataset): { measurements?: Item; evaluations?: Item } {
  return {
    measurements: find(ds, CODES.imagingMeasurements, 'CONTAINER'),
    evaluations: find(ds, CODES.qualitativeEvaluations, 'CONTAINER'),
  };
}

/**
 * True for an SR written by this algorithm: an SR SOP class, a TID 1500 root ("Oncology Measurement Report", or
 * "Imaging Measurement Report"), and the
 * algorithm name of `buildClassificationSR` in its algorithm identification, or our device observer UID.
 */
export function isOurSR(ds: NaturalDataset | null | undefined): boolean {
  if (!ds || typeof ds !== 'object') return false;
  if (!SR_SOP_CLASSES.has(str(ds.SOPClassUID)) && str(ds.Modality) !== 'SR') return false;
  if (!is(ds, CODES.oncologyMeasurementReport) && !is(ds, CODES.imagingMeasurementReport)) return false;
  const device = str(find(ds, CODES.deviceObserverUID, 'UIDREF')?.UID);
  if (device === DEFAULT_DEVICE.uid) return true;
  const { measurements, evaluations } = rootContainers(ds);
  const alg =
    (evaluations && algorithmOf(evaluations)) ||
    (measurements && children(measurements)[0] && algorithmOf(children(measurements)[0]));
  return !!alg && alg.name === ALGORITHM_NAME;
}

function parseSlice(group: Item, classes: string[], position: number): ParsedSlice {
  const tracking = textOf(find(group, CODES.trackingIdentifier, 'TEXT')) ?? '';
  const m = /^slice (\d+)$/.exec(tracking.trim());
  const index = m ? Number(m[1]) - 1 : position;
  const image = find(group, CODES.source, 'IMAGE') ?? children(group).find((x) => x.ValueType === 'IMAGE');
  const ref = seq<Record<string, unknown>>(image?.ReferencedSOPSequence)[0];
  if (!ref) throw new ReportParseError(`Measurement group "${tracking || position + 1}" references no image.`);
  const frameText = str(ref.ReferencedFrameNumber);
  const reason = textOf(find(group, CODES.outOfRange, 'TEXT'));
  let outOfRange: OutOfRangeAnswer | null = null;
  if (reason != null) {
    const stage = textOf(find(group, CODES.declineStage, 'TEXT')) === 'features' ? 'features' : 'metadata';
    outOfRange = { stage, reason };
    const score = numOf(find(group, CODES.gateScore, 'NUM'));
    const threshold = numOf(find(group, CODES.gateThreshold, 'NUM'));
    if (score != null) outOfRange.score = score;
    if (threshold != null) outOfRange.threshold = threshold;
  }
  const probabilities: number[] = [];
  if (!outOfRange) {
    for (const label of classes) {
      const v = numOf(find(group, probabilityConcept(label), 'NUM'));
      if (v == null) throw new ReportParseError(`Measurement group "${tracking}" has no probability of ${label}.`);
      probabilities.push(v);
    }
  }
  const slice: ParsedSlice = {
    index,
    sopClassUID: str(ref.ReferencedSOPClassUID),
    sopInstanceUID: str(ref.ReferencedSOPInstanceUID),
    frame: frameText ? Number(frameText) : null,
    label: outOfRange ? null : classForFinding(codeOf(find(group, CODES.finding, 'CODE')), classes),
    probabilities,
    outOfRange,
  };
  if (!outOfRange) {
    const score = numOf(find(group, CODES.gateScore, 'NUM'));
    if (score != null) slice.score = score;
  }
  return slice;
}

function parseSummary(ev: Item, classes: string[]): ParsedSummary {
  const count = (c: Parameters<typeof find>[1]): number => numOf(find(ev, c, 'NUM')) ?? 0;
  const calls: Record<string, number> = {};
  for (const label of classes) calls[label] = count(classCountConcept(label));
  const runs = findAll(ev, CODES.tumourRun, 'CODE').map((r) => {
    const label = classForFinding(codeOf(r), classes) ?? codeOf(r)?.CodeMeaning ?? '';
    const from = numOf(find(r, CODES.firstSlice, 'NUM')) ?? 0;
    const to = numOf(find(r, CODES.lastSlice, 'NUM')) ?? from;
    return { label, from, to, count: to - from + 1, isolated: !!find(r, CODES.isolatedCall) };
  });
  const claimed = findAll(ev, CODES.seriesConclusion, 'CODE')
    .map((x) => codeOf(x))
    .filter((c) => c && !sameCode(c, CODES.noTumourClaimed))
    .map((c) => classForFinding(c, classes) ?? c!.CodeMeaning);
  return {
    slices: count(CODES.slicesTotal),
    inRange: count(CODES.slicesInRange),
    declined: count(CODES.slicesDeclined),
    unreadable: count(CODES.slicesUnreadable),
    pending: count(CODES.slicesPending),
    calls,
    runs,
    claimsTumour: claimed.length > 0,
    claimed,
    text: textOf(find(ev, CODES.seriesSummaryText, 'TEXT')) ?? '',
  };
}

function isoDateTime(date: string, time: string): string {
  if (!/^\d{8}$/.test(date)) return '';
  const t = (time || '').replace(/[^0-9.]/g, '');
  const hh = t.slice(0, 2) || '00';
  const mm = t.slice(2, 4) || '00';
  const ss = t.slice(4, 6) || '00';
  return `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${hh}:${mm}:${ss}`;
}

/**
 * Reads one of our SRs: model version, card hash, classes, per-slice answers (same numbers as written: probabilities
 * come from Floating Point Value), the series summary. Throws ReportParseError for an SR that is not ours or is
 * malformed.
 */
export function parseClassificationSR(input: ArrayBuffer | Uint8Array | NaturalDataset): ParsedReport {
  const ds = input instanceof ArrayBuffer || input instanceof Uint8Array ? readPart10(input) : input;
  if (!isOurSR(ds)) throw new ReportParseError('This SR was not written by the SSCLNet classifier.');
  const { measurements, evaluations } = rootContainers(ds);
  const groups = measurements ? findAll(measurements, CODES.measurementGroup, 'CONTAINER') : [];
  const alg = evaluations && algorithmOf(evaluations);
  if (!alg)
    throw new ReportParseError('The SR has no report-level algorithm identification (Qualitative Evaluations).');
  const param = (prefix: string): string | undefined =>
    alg.parameters
      .find((p) => p.startsWith(prefix))
      ?.slice(prefix.length)
      .trim();
  const classes = (param('classes:') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!classes.length) throw new ReportParseError('The SR does not list the model classes.');
  const slices = groups.map((g, i) => parseSlice(g, classes, i)).sort((a, b) => a.index - b.index);
  const evidence = seq<Record<string, unknown>>(ds.CurrentRequestedProcedureEvidenceSequence)[0];
  const firstSeries = seq<Record<string, unknown>>(evidence?.ReferencedSeriesSequence)[0];
  return {
    studyInstanceUID: str(ds.StudyInstanceUID),
    seriesInstanceUID: str(ds.SeriesInstanceUID),
    sopInstanceUID: str(ds.SOPInstanceUID),
    sourceSeriesInstanceUID: str(firstSeries?.SeriesInstanceUID),
    contentDateTime: isoDateTime(str(ds.ContentDate), str(ds.ContentTime)),
    algorithmName: alg.name,
    modelVersion: alg.version,
    cardSha256: param('model card SHA-256:') ?? '',
    parameters: alg.parameters,
    classes,
    deviceUID: str(find(ds, CODES.deviceObserverUID, 'UIDREF')?.UID),
    slices,
    summary: evaluations ? parseSummary(evaluations, classes) : null,
  };
}

/** The concept name of a content item, for messages. */
export function describeItem(item: Record<string, unknown>): string {
  const n = nameOf(item);
  return n ? `${n.CodeMeaning} (${n.CodeValue}, ${n.CodingSchemeDesignator})` : String(item.ValueType ?? '?');
}

export { PRIVATE_SCHEME };
