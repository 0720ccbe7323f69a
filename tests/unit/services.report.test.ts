/**
 * The report and heatmap services (issues 13 and 14) on the real inference core (tfjs wasm in Node, a random 64 px
 * model from the trainer) and the real SR builder, with a stand-in viewer host and a stand-in PACS (fetch):
 * save to a DICOMweb data source (STOW-RS request, progress states, failure messages), download elsewhere, prior
 * results shown in the strip / overlay without a model run; the heatmap of the displayed slice, none when declined.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ReportService, type DataSourceInfo } from '../../extension/src/services/ReportService';
import { HeatmapService } from '../../extension/src/services/HeatmapService';
import { overlayFor } from '../../extension/src/services/ClassificationService';
import { multipartParts } from '../../extension/src/report/dicomweb';
import { parseClassificationSR } from '../../extension/src/report/parse';
import { placementMatrix } from '../../extension/src/classification/heatmapLayer';
import { SAGITTAL, adi, instances, makeServices, publishRandom, readSlice, type Fixture } from './servicesFixtures';

jest.setTimeout(240000);

let work: string;
let registry: string;
const VERSION = 'unit-report-64';

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'ssclnet-report-svc-'));
  registry = path.join(work, 'registry');
  publishRandom(work, registry, VERSION, 3);
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function withReport(f: Fixture, dataSource: DataSourceInfo, download = jest.fn()) {
  const host = f.host;
  host.displayedSeries = () => ({
    viewportId: 'vp1',
    studyInstanceUID: adi.StudyInstanceUID,
    seriesInstanceUID: adi.series[0].SeriesInstanceUID,
    sopInstanceUIDs: instances.map((i) => i.metadata.SOPInstanceUID),
    frames: instances.map(() => 0),
    imageIds: instances.map((i) => i.url),
  });
  host.instanceMetadata = (imageId) =>
    (instances.find((i) => i.url === imageId)?.metadata as Record<string, unknown>) ?? null;
  const report = new ReportService({
    modelService: f.modelService,
    classificationService: f.classification,
    host,
    dataSource: () => dataSource,
    download,
  });
  return { report, download };
}

type FetchCall = { url: string; method: string; body?: Uint8Array; headers: Record<string, string> };

function fakePacs(answer: (call: FetchCall) => { status: number; body?: string; headers?: Record<string, string> }) {
  const calls: FetchCall[] = [];
  const original = globalThis.fetch;
  globalThis.fetch = (async (
    url: string,
    init: { method?: string; body?: Uint8Array; headers?: Record<string, string> } = {},
  ) => {
    const call = { url: String(url), method: init.method ?? 'GET', body: init.body, headers: init.headers ?? {} };
    calls.push(call);
    const a = answer(call);
    return new Response(a.body ?? '', {
      status: a.status,
      headers: a.headers ?? { 'content-type': 'application/dicom+json' },
    });
  }) as typeof fetch;
  return { calls, restore: () => (globalThis.fetch = original) };
}

const stowOk = (call: FetchCall) => {
  // The STOW-RS answer names the stored instance (Referenced SOP Sequence), as Orthanc does.
  const part = multipartParts(call.body!, call.headers['Content-Type'] ?? call.headers['content-type'])[0];
  const sop = parseClassificationSR(part).sopInstanceUID;
  return {
    status: 200,
    body: JSON.stringify({ '00081199': { vr: 'SQ', Value: [{ '00081155': { vr: 'UI', Value: [sop] } }] } }),
  };
};

test('save to a DICOMweb data source: the SR of the series run is built in the engine and stored with STOW-RS; a prior is shown without a model run', async () => {
  const f = makeServices(registry);
  await f.modelService.ensureLoaded();
  const { report } = withReport(f, { kind: 'dicomweb', root: 'http://pacs.test/dicom-web', name: 'Test PACS' });
  const states: string[] = [];
  report.subscribe(report.EVENTS.STATE_CHANGED, (s) => {
    if (states[states.length - 1] !== s.save.kind) states.push(s.save.kind);
  });
  expect(await report.saveReport()).toBe(false);
  expect(report.getState().save).toMatchObject({ kind: 'failed', errorKind: 'input' });
  expect((report.getState().save as { message: string }).message).toMatch(/classify the series/);

  await f.classification.classifySeries();
  const pacs = fakePacs(stowOk);
  try {
    expect(await report.saveReport()).toBe(true);
  } finally {
    pacs.restore();
  }
  const post = pacs.calls.find((c) => c.method === 'POST')!;
  expect(post.url).toBe('http://pacs.test/dicom-web/studies');
  expect(states.slice(-3)).toEqual(['building', 'sending', 'done']);
  const saved = report.getState().save;
  expect(saved).toMatchObject({ kind: 'done', where: 'pacs', slices: 7 });
  const sr = parseClassificationSR(multipartParts(post.body!, post.headers['Content-Type'])[0]);
  expect(sr.modelVersion).toBe(VERSION);
  expect(sr.slices).toHaveLength(7);
  const run = f.classification.getState().series as {
    outcomes: { classification: { probabilities: number[] } | null }[];
  };
  sr.slices.forEach((s, i) => expect(s.probabilities).toEqual(run.outcomes[i].classification!.probabilities));

  // Prior results: the engine's lookup returns the stored SR; showing it fills the strip and the overlay, no model run.
  f.engine.findPriorResults = async () => ({ reports: [sr], skipped: [] });
  const priors = await report.findPriorResults(adi.StudyInstanceUID);
  expect(priors.map((p) => [p.modelVersion, p.slices])).toEqual([[VERSION, 7]]);
  const calls = f.engine.calls;
  f.classification.onModeExit();
  expect(await report.showPrior(sr.sopInstanceUID)).toBe(true);
  expect(f.engine.calls).toBe(calls);
  const shown = f.classification.getState().series;
  expect(shown.kind).toBe('done');
  expect('stored' in shown && shown.stored?.sopInstanceUID).toBe(sr.sopInstanceUID);
  expect('outcomes' in shown && shown.outcomes.map((o) => o.classification?.probabilities)).toEqual(
    run.outcomes.map((o) => o.classification!.probabilities),
  );
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 2, count: 7 } });
  f.classification.trackViewer();
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 2, count: 7 } });
  expect(overlayFor(f.classification.getState())?.text).toMatch(new RegExp(` · ${VERSION}$`));
  expect(report.getState().shown).toBe(sr.sopInstanceUID);

  // A prior shown while the model is still loading stays when the load finishes (the model change clears live runs,
  // not a stored one that names its own model).
  const g = makeServices(registry);
  const { report: early } = withReport(g, { kind: 'dicomweb', root: 'http://pacs.test/dicom-web', name: 'Test PACS' });
  g.engine.findPriorResults = async () => ({ reports: [sr], skipped: [] });
  await early.findPriorResults(adi.StudyInstanceUID);
  expect(g.modelService.current).toBeNull();
  expect(await early.showPrior(sr.sopInstanceUID)).toBe(true);
  await g.modelService.ensureLoaded();
  expect(g.modelService.current?.version).toBe(VERSION);
  const kept = g.classification.getState().series;
  expect('stored' in kept && kept.stored?.sopInstanceUID).toBe(sr.sopInstanceUID);
  expect('outcomes' in kept && kept.outcomes.filter((o) => o.classification).length).toBe(7);
});

test('save failures say what happened: PACS down (proxy 502), read-only source (405), network error', async () => {
  const f = makeServices(registry);
  await f.modelService.ensureLoaded();
  const { report } = withReport(f, { kind: 'dicomweb', root: 'http://pacs.test/dicom-web', name: 'Test PACS' });
  f.host.displayed = 1;
  await f.classification.classifySlice(); // a classified slice of the displayed series is enough
  for (const [answer, kind, re] of [
    [
      {
        status: 502,
        body: 'PACS unreachable at http://127.0.0.1:1/dicom-web',
        headers: { 'content-type': 'text/plain' },
      },
      'server',
      /unreachable or busy \(HTTP 502/,
    ],
    [{ status: 405, body: '', headers: { 'content-type': 'text/plain' } }, 'client', /read-only/],
  ] as const) {
    const pacs = fakePacs(() => answer);
    try {
      expect(await report.saveReport()).toBe(false);
    } finally {
      pacs.restore();
    }
    const s = report.getState().save as { kind: string; errorKind: string; message: string };
    expect(s.kind).toBe('failed');
    expect(s.errorKind).toBe(kind);
    expect(s.message).toMatch(re);
    expect(s.message).toMatch(/[Nn]othing was stored|read-only/);
  }
  const original = globalThis.fetch;
  globalThis.fetch = (async () => {
    throw new TypeError('fetch failed');
  }) as typeof fetch;
  try {
    expect(await report.saveReport()).toBe(false);
  } finally {
    globalThis.fetch = original;
  }
  expect(report.getState().save).toMatchObject({ kind: 'failed', errorKind: 'network' });
});

test('no DICOMweb (the embedded demo): the same action downloads the .dcm; priors are not looked up', async () => {
  const f = makeServices(registry);
  await f.modelService.ensureLoaded();
  const { report, download } = withReport(f, { kind: 'other', name: 'Embedded sample studies' });
  await f.classification.classifySlice();
  expect(await report.saveReport()).toBe(true);
  expect(download).toHaveBeenCalledTimes(1);
  const [name, bytes, type] = download.mock.calls[0];
  expect(name).toMatch(/^ssclnet-sr-2\.25\.\d+\.dcm$/);
  expect(type).toBe('application/dicom');
  expect(
    Buffer.from(bytes as ArrayBuffer)
      .subarray(128, 132)
      .toString('latin1'),
  ).toBe('DICM');
  expect(report.getState().save).toMatchObject({ kind: 'done', where: 'download', slices: 1 });
  await report.findPriorResults(adi.StudyInstanceUID);
  expect(report.getState().priors.kind).toBe('unavailable');
});

test('heatmap: computed in the engine for the displayed slice, on its pixel grid; none for a declined slice; a slice change removes it', async () => {
  const f = makeServices(registry);
  await f.modelService.ensureLoaded();
  const heatmap = new HeatmapService({
    modelService: f.modelService,
    classificationService: f.classification,
    host: f.host,
  });
  f.classification.trackViewer();
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 0, count: 7 } });
  heatmap.setEnabled(true);
  await new Promise<void>((resolve) => heatmap.subscribe(heatmap.EVENTS.HEATMAP, () => resolve()));
  const h = heatmap.getState().heatmap!;
  expect(h.rgba.length).toBe(h.width * h.height * 4);
  expect([h.width, h.height]).toEqual([readSlice(0).width, readSlice(0).height]);
  expect(h.ms).toBeGreaterThan(0);
  expect(h.forwardMs).toBeGreaterThan(0);
  expect(['glioma', 'meningioma', 'notumor', 'pituitary']).toContain(h.label);
  // Another slice: the layer described the previous one.
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 1, count: 7 } });
  expect(heatmap.getState().heatmap).toBeNull();
  // A declined slice (not axial): no heatmap, the reason instead.
  f.host.displayed = 1;
  f.host.attributes = () => ({ Modality: 'MR', ImageOrientationPatient: SAGITTAL });
  expect(await heatmap.compute()).toBeNull();
  expect(heatmap.getState().heatmap).toBeNull();
  expect(heatmap.getState().declined).toMatch(/axial/);
  heatmap.setOpacity(1.7);
  expect(heatmap.getState().opacity).toBe(1);
});

test('the layer transform maps the image grid onto its corners (pan, zoom, flips)', () => {
  expect(
    placementMatrix({ width: 100, height: 50, topLeft: [10, 20], topRight: [210, 20], bottomLeft: [10, 120] }),
  ).toBe('matrix(2, 0, 0, 2, 10, 20)');
  expect(
    placementMatrix({ width: 100, height: 100, topLeft: [200, 0], topRight: [0, 0], bottomLeft: [200, 200] }, [5, 6]),
  ).toBe('matrix(-2, 0, 0, 2, 205, 6)');
});
