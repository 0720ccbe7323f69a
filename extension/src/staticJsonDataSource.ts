/**
 * OHIF's own dicomjson data source, with its manifest URL in the configuration instead of the page's `?url=`.
 * OHIF 3.13's study list drops `url` when it links a study to a mode, so a plain dicomjson source can list the
 * embedded studies but not open them; this keeps every route working. Its study search also returns nothing
 * when no patient/study UID filter is set (the first filter key, `offset`, is unmapped), so the study list
 * search is done here on the same manifest; all metadata and image loading stays OHIF's dicomjson code.
 */
import { OHIF_DICOMJSON_NAMESPACE, STATIC_JSON_DATA_SOURCE } from './id';

type Query = URLSearchParams;
interface DicomJsonApi {
  initialize: (args: { query: Query; url?: string; params?: unknown }) => unknown;
  getStudyInstanceUIDs: (args: { params: unknown; query: Query }) => unknown;
  query: { studies: { search: (filters: StudyFilters) => Promise<StudyRow[]> }; [key: string]: unknown };
  [key: string]: unknown;
}

/** Study-level fields of a dicomjson manifest entry that the study list shows. */
export interface ManifestStudy {
  StudyInstanceUID: string;
  StudyDate?: string;
  StudyTime?: string;
  StudyDescription?: string;
  PatientName?: string;
  PatientID?: string;
  AccessionNumber?: string;
  Modalities?: string;
  NumInstances?: number;
  /** The manifest's series (dicomjson format: series metadata and instances). */
  series?: ManifestSeries[];
}

export interface ManifestSeries {
  SeriesInstanceUID: string;
  SeriesDescription?: string;
  SeriesNumber?: number | string;
  Modality?: string;
  SeriesDate?: string;
  instances?: unknown[];
}

/** A series row, in the shape OHIF's DICOMweb source returns (the study list's preview reads these). */
export interface SeriesRow {
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  seriesNumber: string;
  seriesDate: string;
  numSeriesInstances: number;
  description: string;
}

/** The study list's filters, as OHIF 3.13's worklist passes them (unset ones are absent). */
export interface StudyFilters {
  patientId?: string;
  patientName?: string;
  studyDescription?: string;
  modalitiesInStudy?: string[];
  accessionNumber?: string;
  startDate?: string;
  endDate?: string;
  /** The viewer's Studies panel asks for the open study by UID, then for the patient's studies by exact MRN. */
  studyInstanceUid?: string;
  StudyInstanceUID?: string;
  disableWildcard?: boolean;
  [key: string]: unknown;
}

/** A worklist row, in the shape OHIF's dicomjson source returns. */
export interface StudyRow {
  studyInstanceUid: string;
  date?: string;
  time?: string;
  description?: string;
  modalities?: string;
  mrn?: string;
  patientName?: string;
  accession?: string;
  instances?: number;
  NumInstances?: number;
}

const contains = (value: string | undefined, needle: string | undefined) =>
  !needle || (value ?? '').toLowerCase().includes(needle.replace(/\*/g, '').toLowerCase());

const uidFilter = (f: StudyFilters): string[] => {
  const v = f.studyInstanceUid ?? f.StudyInstanceUID;
  if (Array.isArray(v)) return v.map(String);
  return typeof v === 'string' && v
    ? v
        .split(/[,\\]/)
        .map((x) => x.trim())
        .filter(Boolean)
    : [];
};

export function filterStudies(studies: ManifestStudy[], f: StudyFilters): StudyRow[] {
  const uids = uidFilter(f);
  return studies
    .filter(
      (s) =>
        (!uids.length || uids.includes(s.StudyInstanceUID)) &&
        (f.disableWildcard && f.patientId ? (s.PatientID ?? '') === f.patientId : contains(s.PatientID, f.patientId)) &&
        contains(s.PatientName, f.patientName) &&
        contains(s.StudyDescription, f.studyDescription) &&
        contains(s.AccessionNumber, f.accessionNumber) &&
        (!f.modalitiesInStudy?.length ||
          f.modalitiesInStudy.some((m) => (s.Modalities ?? '').split(/[\\/,]/).includes(m))) &&
        (!f.startDate || (s.StudyDate ?? '') >= f.startDate.replace(/-/g, '')) &&
        (!f.endDate || (s.StudyDate ?? '') <= f.endDate.replace(/-/g, '')),
    )
    .map((s) => ({
      studyInstanceUid: s.StudyInstanceUID,
      date: s.StudyDate,
      time: s.StudyTime,
      description: s.StudyDescription,
      modalities: s.Modalities,
      mrn: s.PatientID,
      patientName: s.PatientName,
      accession: s.AccessionNumber,
      instances: s.NumInstances,
      NumInstances: s.NumInstances,
    }));
}
/** The series of a study in the manifest, as series rows (OHIF's dicomjson has no series search). */
export function seriesRows(studies: ManifestStudy[], studyInstanceUid: unknown): SeriesRow[] {
  const uid =
    typeof studyInstanceUid === 'string'
      ? studyInstanceUid
      : (studyInstanceUid as { studyInstanceUid?: string } | null)?.studyInstanceUid;
  const study = studies.find((s) => s.StudyInstanceUID === uid);
  if (!study) return [];
  return (study.series ?? []).map((se) => ({
    studyInstanceUid: study.StudyInstanceUID,
    seriesInstanceUid: se.SeriesInstanceUID,
    modality: se.Modality ?? '',
    seriesNumber: se.SeriesNumber === undefined || se.SeriesNumber === null ? '' : String(se.SeriesNumber),
    seriesDate: se.SeriesDate ?? study.StudyDate ?? '',
    numSeriesInstances: se.instances?.length ?? 0,
    description: se.SeriesDescription ?? '',
  }));
}

interface ModuleEntry {
  createDataSource: (configuration: unknown, servicesManager: unknown, extensionManager?: unknown) => DicomJsonApi;
}
export interface ExtensionManagerLike {
  getModuleEntry: (namespace: string) => ModuleEntry | undefined;
}

export interface StaticJsonConfiguration {
  /** Manifest URL, absolute or relative to the page (e.g. '/sample-study/manifest.json'). */
  manifestUrl: string;
  [key: string]: unknown;
}

/** The query OHIF gives the data source, with `url` added when the page has none. */
export function withManifestUrl(query: Query | undefined, manifestUrl: string): Query {
  const q = new URLSearchParams(query ? query.toString() : '');
  if (!q.get('url')) q.set('url', manifestUrl);
  return q;
}

/** The requested studies (StudyInstanceUIDs, comma-separated or repeated) that the manifest has; all if none asked. */
export function selectStudyUIDs(available: string[], query: Query | undefined): string[] {
  const asked = (query?.getAll('StudyInstanceUIDs') ?? [])
    .concat(query?.getAll('studyInstanceUIDs') ?? [])
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  if (!asked.length) return available;
  return asked.filter((uid) => available.includes(uid));
}

async function fetchManifestStudies(url: string): Promise<ManifestStudy[]> {
  const response = await fetch(new URL(url, globalThis.location?.href).href, { credentials: 'same-origin' });
  if (!response.ok) throw new Error(`sample study manifest ${url}: HTTP ${response.status}`);
  const data = (await response.json()) as { studies?: ManifestStudy[] };
  return Array.isArray(data.studies) ? data.studies : [];
}

export function wrapDicomJson(
  base: DicomJsonApi,
  manifestUrl: string,
  loadStudies = fetchManifestStudies,
): DicomJsonApi {
  let studies: Promise<ManifestStudy[]> | null = null;
  const manifest = () => {
    studies ??= loadStudies(manifestUrl).catch((err) => {
      studies = null; // let a retry fetch again
      throw err;
    });
    return studies;
  };
  return {
    ...base,
    query: {
      ...base.query,
      studies: {
        ...base.query.studies,
        search: async (filters: StudyFilters) => filterStudies(await manifest(), filters ?? {}),
      },
      series: {
        ...(base.query.series as object),
        search: async (studyInstanceUid: unknown) => seriesRows(await manifest(), studyInstanceUid),
      },
    },
    initialize: (args) => base.initialize({ ...args, query: withManifestUrl(args.query, manifestUrl) }),
    // OHIF's dicomjson opens every study of the manifest whatever the route asks for; honour StudyInstanceUIDs.
    getStudyInstanceUIDs: (args) => {
      const all = base.getStudyInstanceUIDs({ ...args, query: withManifestUrl(args.query, manifestUrl) });
      return selectStudyUIDs(Array.isArray(all) ? (all as string[]) : [], args.query);
    },
  };
}

export function getDataSourcesModule() {
  return [
    {
      name: STATIC_JSON_DATA_SOURCE,
      type: 'jsonApi',
      createDataSource: (
        configuration: StaticJsonConfiguration,
        servicesManager: unknown,
        extensionManager: ExtensionManagerLike,
      ) => {
        if (!configuration || typeof configuration.manifestUrl !== 'string' || !configuration.manifestUrl) {
          throw new Error(
            `${STATIC_JSON_DATA_SOURCE}: configuration.manifestUrl (the dicomjson manifest URL) is required`,
          );
        }
        const entry = extensionManager?.getModuleEntry(OHIF_DICOMJSON_NAMESPACE);
        if (!entry) throw new Error(`${STATIC_JSON_DATA_SOURCE}: OHIF's ${OHIF_DICOMJSON_NAMESPACE} is not registered`);
        return wrapDicomJson(
          entry.createDataSource(configuration, servicesManager, extensionManager),
          configuration.manifestUrl,
        );
      },
    },
  ];
}
