import fs from 'node:fs';
import path from 'node:path';
import {
  filterStudies,
  getDataSourcesModule,
  selectStudyUIDs,
  withManifestUrl,
  wrapDicomJson,
  type ManifestStudy,
} from '../../extension/src/staticJsonDataSource';
import { OHIF_DICOMJSON_NAMESPACE } from '../../extension/src/id';

// The committed embedded studies (demo/sample-study/study.json), as the viewer serves them.
const manifest = JSON.parse(fs.readFileSync(path.join(__dirname, '../../demo/sample-study/study.json'), 'utf8')) as {
  studies: ManifestStudy[];
};
const [adi, forrest] = manifest.studies;

describe('staticJson data source (OHIF dicomjson with a configured manifest)', () => {
  test('the sample manifest has two MR studies with their instances', () => {
    expect(manifest.studies.map((s) => s.PatientID)).toEqual(['ADI-T2-001', 'FORREST-T1-001']);
    expect(manifest.studies.map((s) => s.NumInstances)).toEqual([7, 9]);
  });

  test('adds url to the query only when the page has none', () => {
    expect(withManifestUrl(new URLSearchParams('StudyInstanceUIDs=1.2'), '/m.json').toString()).toBe(
      'StudyInstanceUIDs=1.2&url=%2Fm.json',
    );
    expect(withManifestUrl(new URLSearchParams('url=%2Fother.json'), '/m.json').get('url')).toBe('/other.json');
    expect(withManifestUrl(undefined, '/m.json').get('url')).toBe('/m.json');
  });

  test('opens the studies the route asks for, not every study of the manifest', () => {
    const all = manifest.studies.map((s) => s.StudyInstanceUID);
    expect(selectStudyUIDs(all, new URLSearchParams(`StudyInstanceUIDs=${forrest.StudyInstanceUID}`))).toEqual([
      forrest.StudyInstanceUID,
    ]);
    expect(
      selectStudyUIDs(
        all,
        new URLSearchParams(`StudyInstanceUIDs=${adi.StudyInstanceUID},${forrest.StudyInstanceUID}`),
      ),
    ).toEqual(all);
    expect(selectStudyUIDs(all, new URLSearchParams('StudyInstanceUIDs=9.9.9'))).toEqual([]);
    expect(selectStudyUIDs(all, new URLSearchParams(''))).toEqual(all);
  });

  test('study list search: no filter lists all, filters narrow', () => {
    expect(filterStudies(manifest.studies, { offset: 0, limit: 101 }).map((r) => r.mrn)).toEqual([
      'ADI-T2-001',
      'FORREST-T1-001',
    ]);
    expect(filterStudies(manifest.studies, { patientName: 'forrest' }).map((r) => r.studyInstanceUid)).toEqual([
      forrest.StudyInstanceUID,
    ]);
    expect(filterStudies(manifest.studies, { studyDescription: 'T1w' })).toHaveLength(1);
    expect(filterStudies(manifest.studies, { modalitiesInStudy: ['CT'] })).toHaveLength(0);
    expect(filterStudies(manifest.studies, { modalitiesInStudy: ['MR'] })).toHaveLength(2);
    expect(filterStudies(manifest.studies, { startDate: '2021-01-01' })).toHaveLength(0);
    const row = filterStudies(manifest.studies, { patientId: 'ADI' })[0];
    expect(row).toMatchObject({
      studyInstanceUid: adi.StudyInstanceUID,
      modalities: 'MR',
      instances: 7,
      description: 'Brain MR, normal volunteer',
    });
  });

  test('delegates loading to OHIF dicomjson with the manifest url, searches the manifest itself', async () => {
    const calls: string[] = [];
    const base = {
      initialize: ({ query }: { query: URLSearchParams }) => calls.push(`init ${query.get('url')}`),
      getStudyInstanceUIDs: ({ query }: { query: URLSearchParams }) => {
        calls.push(`uids ${query.get('url')}`);
        return manifest.studies.map((s) => s.StudyInstanceUID);
      },
      query: { studies: { search: async () => [] }, series: { search: () => undefined }, instances: 'untouched' },
      retrieve: 'untouched',
    };
    let loads = 0;
    const api = wrapDicomJson(base, '/sample-study/manifest.json', async () => {
      loads += 1;
      return manifest.studies;
    });
    api.initialize({ query: new URLSearchParams() });
    const uids = api.getStudyInstanceUIDs({
      params: {},
      query: new URLSearchParams(`StudyInstanceUIDs=${adi.StudyInstanceUID}`),
    });
    expect(uids).toEqual([adi.StudyInstanceUID]);
    expect(calls).toEqual(['init /sample-study/manifest.json', 'uids /sample-study/manifest.json']);
    expect(await api.query.studies.search({ offset: 0 })).toHaveLength(2);
    expect(await api.query.studies.search({ patientId: 'FORREST' })).toHaveLength(1);
    expect(loads).toBe(1);
    expect(api.retrieve).toBe('untouched');
    expect(api.query.instances).toBe('untouched');
    // The Studies panel asks for the open study by UID, then the patient's studies by exact MRN (issue 18).
    expect(
      (await api.query.studies.search({ studyInstanceUid: forrest.StudyInstanceUID })).map(
        (r: { mrn?: string }) => r.mrn,
      ),
    ).toEqual(['FORREST-T1-001']);
    expect(await api.query.studies.search({ patientId: 'FORREST', disableWildcard: true })).toHaveLength(0);
    expect(await api.query.studies.search({ patientId: 'FORREST-T1-001', disableWildcard: true })).toHaveLength(1);
    // The study list's preview gets the study's series (OHIF's dicomjson has no series search: "No Series").
    const series = await (
      api.query.series as {
        search: (
          uid: string,
        ) => Promise<
          { seriesInstanceUid: string; modality: string; numSeriesInstances: number; description: string }[]
        >;
      }
    ).search(adi.StudyInstanceUID);
    expect(series).toHaveLength(1);
    expect(series[0]).toMatchObject({
      modality: 'MR',
      numSeriesInstances: 7,
      description: 'AX FSE T2',
      seriesNumber: '6',
    });
    expect(loads).toBe(1);
  });

  test('createDataSource needs a manifest url and OHIF dicomjson', () => {
    const [entry] = getDataSourcesModule();
    const em = {
      getModuleEntry: (ns: string) =>
        ns === OHIF_DICOMJSON_NAMESPACE ? { createDataSource: () => ({}) as never } : undefined,
    };
    expect(() => entry.createDataSource({ manifestUrl: '' }, {}, em)).toThrow(/manifestUrl/);
    expect(() => entry.createDataSource({ manifestUrl: '/m.json' }, {}, { getModuleEntry: () => undefined })).toThrow(
      /dicomjson is not registered/,
    );
  });
});
