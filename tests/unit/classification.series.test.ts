// Whole-series classification and the history export on a real exported model (random weights, 64 px, wasm in
// Node) over the seven real DICOM slices of the sample T2 series.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classify, loadModel } from '../../extension/src/inference/classifier';
import { readDicomSlices } from '../../extension/src/inference/dicomFile';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import type { LoadOptions } from '../../extension/src/inference/classifier';
import type { Classification, RawSlice } from '../../extension/src/inference/types';
import { ClassificationController } from '../../extension/src/classification/controller';
import { historyToCsv, historyToJson } from '../../extension/src/classification/exportHistory';
import { cacheKey, classifySeries, summarize } from '../../extension/src/classification/series';
import { exportModel, randomCheckpoint, tmpDir } from './inferenceFixtures';

jest.setTimeout(120_000);
const SAMPLE = path.join(__dirname, '../../demo/sample-study');
const study = JSON.parse(fs.readFileSync(path.join(SAMPLE, 'study.json'), 'utf8'));
const adi = study.studies[0];
const instances: { url: string; metadata: { SOPInstanceUID: string } }[] = adi.series[0].instances;
let modelDir = '';

beforeAll(() => {
  const work = tmpDir('series');
  modelDir = exportModel(randomCheckpoint(work, 64, 3), path.join(work, 'model'), 'series-test-1');
});

const source = (fail?: number) => ({
  viewportId: 'vp1',
  seriesInstanceUID: adi.series[0].SeriesInstanceUID,
  count: instances.length,
  load: async (i: number) => {
    if (i === fail) throw new Error('pixel data missing');
    const raw = readDicomSlices(new Uint8Array(fs.readFileSync(path.join(SAMPLE, instances[i].url))))[0];
    return { raw, identity: { studyInstanceUID: adi.StudyInstanceUID, seriesInstanceUID: adi.series[0].SeriesInstanceUID, sopInstanceUID: instances[i].metadata.SOPInstanceUID, frame: 0, sliceIndex: i, sliceCount: instances.length, imageId: instances[i].url } };
  },
});

async function readyController(calls: RawSlice[]) {
  const c = new ClassificationController({
    loadModel: (o: LoadOptions) => loadModel({ ...o, url: undefined, source: fsSource(modelDir), backend: 'wasm' }),
    classify: (m, raw) => { calls.push(raw); return classify(m, raw); },
  }, { modelsUrl: '/models', fetch: async () => ({ status: 200, ok: true }) });
  await c.ensureModel();
  return c;
}

test('series: every slice classified once, cached by SOP + frame + model version, summary, history and export', async () => {
  const calls: RawSlice[] = [];
  const c = await readyController(calls);
  const progress: number[] = [];
  c.subscribe(() => { const s = c.getState().series; if (s.kind === 'running') progress.push(s.done); });
  await c.runSeries(() => source());
  const s = c.getState().series;
  expect(s.kind).toBe('done');
  if (s.kind !== 'done') return;
  expect(s.outcomes).toHaveLength(7);
  expect(progress).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  expect(calls).toHaveLength(7);
  for (const o of s.outcomes) {
    expect(o.classification!.modelVersion).toBe('series-test-1');
    expect(o.classification!.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(c.cache.get(cacheKey(o.identity!, 'series-test-1'))).toBe(o.classification);
  }
  // The summary is the slice with the largest 1 - p(notumor).
  const tumor = s.outcomes.map((o) => 1 - o.classification!.probabilities[2]);
  expect(s.summary!.maxTumorSlice).toBe(tumor.indexOf(Math.max(...tumor)));
  expect(s.summary!.maxTumor).toBeCloseTo(Math.max(...tumor), 12);

  // Second run: all from the cache, no inference.
  await c.runSeries(() => source());
  expect(calls).toHaveLength(7);

  // History and export: 14 rows (two runs), UIDs and model version in each, probabilities by class name.
  const history = c.getState().history;
  expect(history).toHaveLength(14);
  const csv = historyToCsv(history).trim().split('\r\n');
  expect(csv).toHaveLength(15);
  const header = csv[0].split(',');
  expect(header).toEqual(expect.arrayContaining(['study_instance_uid', 'series_instance_uid', 'sop_instance_uid', 'slice', 'model_version', 'time', 'p_glioma', 'p_notumor']));
  const row = Object.fromEntries(csv[1].split(',').map((v, i) => [header[i], v]));
  expect(row.sop_instance_uid).toBe(instances[0].metadata.SOPInstanceUID);
  expect(row.slice).toBe('1');
  expect(Number(row.p_meningioma)).toBe(s.outcomes[0].classification!.probabilities[1]);
  const json = JSON.parse(historyToJson(history));
  expect(json.classifications).toHaveLength(14);
  expect(json.classifications[0].modelVersion).toBe('series-test-1');
});

test('series: cancel stops the run; a slice that fails is reported and never counted as classified', async () => {
  const calls: RawSlice[] = [];
  const c = await readyController(calls);
  c.subscribe(() => { const s = c.getState().series; if (s.kind === 'running' && s.done === 2) c.cancelSeries(); });
  await c.runSeries(() => source());
  const s = c.getState().series;
  expect(s.kind).toBe('cancelled');
  expect(s.kind === 'cancelled' && s.outcomes.length).toBe(2);

  const cache = new Map<string, Classification>();
  const src = source(3);
  const { outcomes } = await classifySeries({ count: 7, modelVersion: 'series-test-1', load: src.load, classify: (raw) => classify(c.model!, raw), cache });
  expect(outcomes[3]).toMatchObject({ classification: null, error: 'pixel data missing' });
  expect(summarize(outcomes)).toMatchObject({ classified: 6, failed: 1 });
  expect(cache.size).toBe(6);
});

test('csv quoting follows RFC 4180', () => {
  const csv = historyToCsv([{ at: 't', source: 'file', studyInstanceUID: '', seriesInstanceUID: '', sopInstanceUID: '', frame: 0, slice: null, file: 'a,"b".png', classes: ['glioma', 'meningioma', 'notumor', 'pituitary'], probabilities: [0.1, 0.2, 0.3, 0.4], top: 'pituitary', modelVersion: 'v', backend: 'wasm', ms: 1 }]);
  expect(csv.split('\r\n')[1]).toContain('"a,""b"".png"');
});
