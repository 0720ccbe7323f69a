// The classification service on a real model (random 64 px, tfjs wasm in Node) and the seven real DICOM slices of
// the sample T2 series behind a stand-in viewer host: events, the cache key (SOP + frame + model version), stale
// results dropped, series progress / cancel / failures, declined slices (metadata gate: no inference, counted by
// reason), auto mode following the viewer, history and export.
import * as path from 'node:path';
import { ClassificationService, overlayFor } from '../../extension/src/services/ClassificationService';
import { cacheKey } from '../../extension/src/classification/series';
import { historyToCsv, historyToJson } from '../../extension/src/classification/exportHistory';
import { PixelPathError } from '../../extension/src/classification/pixelPath';
import { AXIAL, SAGITTAL, instances, makeServices, publishRandom, record, type Fixture } from './servicesFixtures';
import { tmpDir } from './inferenceFixtures';

jest.setTimeout(180_000);
let registry = '';
let f: Fixture;

beforeAll(async () => {
  const work = tmpDir('classification-service');
  registry = path.join(work, 'registry');
  publishRandom(work, registry, 'cs-test-1', 3);
});

beforeEach(async () => {
  f = makeServices(registry);
  await f.modelService.ensureLoaded();
});

test('REGISTRATION and EVENTS have the shape of OHIF services', () => {
  expect(ClassificationService.REGISTRATION).toMatchObject({
    name: 'ssclnetClassificationService',
    altName: 'SsclnetClassificationService',
  });
  expect(Object.keys(ClassificationService.EVENTS)).toEqual(
    expect.arrayContaining(['STARTED', 'PROGRESS', 'RESULT', 'OUT_OF_RANGE', 'ERROR', 'STATE_CHANGED', 'CANCELLED']),
  );
});

test('slice: events, cache by SOP + frame + model version, stale requests dropped, errors leave no result', async () => {
  const events = record(f.classification, ['STATE_CHANGED']);
  f.host.displayed = 2;
  const r = await f.classification.classifySlice();
  expect(events.map((e) => e.event)).toEqual(['STARTED', 'RESULT']);
  expect(r!.classification.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(r!.classification.outOfRange).toBeNull();
  const key = cacheKey({ sopInstanceUID: instances[2].metadata.SOPInstanceUID, frame: 0 }, 'cs-test-1');
  expect(key).toBe(`${instances[2].metadata.SOPInstanceUID}|0|cs-test-1`);
  expect(f.classification.cache.get(key)).toBe(r!.classification);
  expect(f.engine.calls).toBe(1);
  await f.classification.classifySlice(); // same slice: from the cache
  expect(f.engine.calls).toBe(1);

  // Two requests in flight: only the newer one is shown.
  f.host.displayed = 0;
  const first = f.classification.classifySlice();
  f.host.displayed = 6;
  const second = f.classification.classifySlice();
  expect(await first).toBeNull();
  expect((await second)!.identity!.sliceIndex).toBe(6);
  expect(f.classification.getState().result!.identity!.sliceIndex).toBe(6);

  // Cancel drops a request in flight.
  f.host.displayed = 5;
  const cancelled = f.classification.classifySlice();
  f.classification.cancel();
  expect(await cancelled).toBeNull();

  // Bad input: a clear error, the previous result is gone, an ERROR event.
  const read = f.host.readDisplayedSlice;
  f.host.readDisplayedSlice = () => {
    throw new PixelPathError('the displayed image has no pixel data');
  };
  await f.classification.classifySlice();
  f.host.readDisplayedSlice = read;
  expect(f.classification.getState().result).toBeNull();
  expect(f.classification.getState().error).toMatch(/no pixel data/);
  expect(events[events.length - 1]).toMatchObject({
    event: 'ERROR',
    payload: { kind: 'slice', message: expect.stringMatching(/no pixel data/) },
  });
});

test('declined by the metadata gate: no inference, OUT_OF_RANGE, grey overlay text, history and CSV without probabilities', async () => {
  const events = record(f.classification, ['STATE_CHANGED']);
  f.host.attributes = () => ({ Modality: 'MR', ImageOrientationPatient: SAGITTAL });
  const calls = f.engine.calls;
  const r = await f.classification.classifySlice();
  expect(r!.classification.outOfRange).toMatchObject({
    stage: 'metadata',
    reason: expect.stringMatching(/not an axial slice/),
  });
  expect(r!.classification.probabilities).toEqual([]);
  expect(events.map((e) => e.event)).toEqual(['STARTED', 'OUT_OF_RANGE']);
  expect(f.engine.calls).toBe(calls + 1); // the engine answered, without a forward pass (no probabilities)
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 0, count: 7 } });
  const state = {
    ...f.classification.getState(),
    result: r,
    viewer: { kind: 'showing' as const, viewportId: 'vp1', series: null, slice: { index: 0, count: 7 } },
  };
  expect(overlayFor(state)).toEqual({
    viewportId: 'vp1',
    declined: true,
    text: expect.stringMatching(/^Outside the model's range: not an axial slice .* · cs-test-1$/),
  });
  const h = f.classification.getState().history.at(-1)!;
  expect(h).toMatchObject({ top: '', probabilities: [], outOfRange: expect.stringMatching(/not an axial slice/) });
  const [header, line] = historyToCsv([h]).trim().split('\r\n');
  expect(header).toMatch(/,top_class,out_of_range,model_version,/);
  // The reason has a comma, so it is quoted; no top class; the four probability cells empty.
  expect(line).toMatch(/,,"not an axial slice \(sagittal, \d+° from axial\)",cs-test-1,/);
  expect(line.endsWith(',,,,')).toBe(true);
});

test('series: progress events, every slice once, cached, counts summary with declined slices, history and export', async () => {
  // Slices 1-2 sagittal (declined before inference), the rest axial.
  f.host.attributes = (i) => ({ Modality: 'MR', ImageOrientationPatient: i < 2 ? SAGITTAL : AXIAL });
  const events = record(f.classification, ['STATE_CHANGED']);
  await f.classification.classifySeries();
  const s = f.classification.getState().series;
  expect(s.kind).toBe('done');
  if (s.kind !== 'done') return;
  expect(events.filter((e) => e.event === 'PROGRESS').map((e) => (e.payload as { done: number }).done)).toEqual([
    1, 2, 3, 4, 5, 6, 7,
  ]);
  expect(events[0]).toMatchObject({ event: 'STARTED', payload: { kind: 'series', total: 7 } });
  expect(events.filter((e) => e.event === 'OUT_OF_RANGE')).toHaveLength(2);
  expect(events.filter((e) => e.event === 'RESULT')).toHaveLength(5);
  expect(s.outcomes.map((o) => o.classification!.modelVersion)).toEqual(Array(7).fill('cs-test-1'));
  expect(s.summary!.counts).toMatchObject({ slices: 7, declined: 2, inRange: 5 });
  expect(s.summary!.text).toMatch(/^7 slices: 2 declined \(not an axial slice\), /);
  expect(s.summary!.text).not.toMatch(/%/);
  const calls = f.engine.calls;
  await f.classification.classifySeries(); // all from the cache
  expect(f.engine.calls).toBe(calls);
  // One history row per instance + frame + model version: the second run updated the first run's rows.
  const history = f.classification.getState().history;
  expect(history).toHaveLength(7);
  expect(new Set(history.map((h) => h.sopInstanceUID)).size).toBe(7);
  const csv = historyToCsv(history).trim().split('\r\n');
  expect(csv).toHaveLength(8);
  const header = csv[0].split(',');
  const row = Object.fromEntries(csv[3].split(',').map((v, i) => [header[i], v]));
  expect(row.sop_instance_uid).toBe(instances[2].metadata.SOPInstanceUID);
  expect(row.slice).toBe('3');
  // Exported probabilities are rounded to 4 decimals, times to 0.1 ms.
  expect(Number(row.p_meningioma)).toBe(Math.round(s.outcomes[2].classification!.probabilities[1] * 1e4) / 1e4);
  expect(Number(row.ms)).toBe(Math.round(history[2].ms * 10) / 10);
  const json = JSON.parse(historyToJson(history)).classifications[2];
  expect(json.probabilities.every((p: number) => Math.abs(p * 1e4 - Math.round(p * 1e4)) < 1e-6)).toBe(true);
  expect(String(json.ms)).toMatch(/^\d+(\.\d)?$/);
  expect(JSON.parse(historyToJson(history)).classifications[0]).toMatchObject({
    outOfRange: expect.stringMatching(/not an axial/),
    probabilities: [],
  });
});

test('series: cancel stops the run (CANCELLED); a failing slice is reported and not counted; a model switch stops a run', async () => {
  const events = record(f.classification, ['STATE_CHANGED']);
  const sub = f.classification.subscribe(f.classification.EVENTS.PROGRESS, (p: { done: number }) => {
    if (p.done === 2) f.classification.cancel();
  });
  await f.classification.classifySeries();
  sub.unsubscribe();
  const s = f.classification.getState().series;
  expect(s.kind).toBe('cancelled');
  expect(s.kind === 'cancelled' && s.outcomes.length).toBe(2);
  expect(s.kind === 'cancelled' && s.summary!.text).toMatch(/5 not classified/);
  expect(events.at(-1)).toMatchObject({ event: 'CANCELLED', payload: { done: 2, total: 7 } });

  f.host.failAt = 3;
  await f.classification.classifySeries();
  const t = f.classification.getState().series;
  expect(t.kind === 'done' && t.outcomes[3]).toMatchObject({ classification: null, error: 'pixel data missing' });
  expect(t.kind === 'done' && t.summary!.counts.unreadable).toBe(1);
});

test('auto mode follows the viewer: a slice change clears the result and classifies the new slice after the pause', async () => {
  const release = f.classification.trackViewer();
  const release2 = f.classification.trackViewer();
  expect(f.host.tracking()).toBe(1); // one host subscription however many views track
  f.classification.setAuto(true);
  f.host.displayed = 4;
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 4, count: 7 } });
  await new Promise<void>((resolve) => {
    const sub = f.classification.subscribe(f.classification.EVENTS.RESULT, () => {
      sub.unsubscribe();
      resolve();
    });
  });
  expect(f.classification.getState().result!.identity!.sliceIndex).toBe(4);
  expect(overlayFor(f.classification.getState())).toMatchObject({
    viewportId: 'vp1',
    declined: false,
    text: expect.stringMatching(/^(No tumour|Glioma|Meningioma|Pituitary tumour) \d+\.\d% · cs-test-1$/),
  });
  f.classification.toggleOverlay();
  expect(overlayFor(f.classification.getState())).toBeNull();
  f.classification.setAuto(false);
  f.host.emit({ kind: 'showing', viewportId: 'vp1', series: null, slice: { index: 5, count: 7 } });
  expect(f.classification.getState().result).toBeNull(); // it described slice 5's neighbour
  release();
  release();
  expect(f.host.tracking()).toBe(1);
  release2();
  expect(f.host.tracking()).toBe(0);
});

test("a dropped DICOM file: classified in the engine, its result card's thumbnail is the model's view of it", async () => {
  const fs = await import('node:fs');
  const { SAMPLE } = await import('./servicesFixtures');
  const file = path.join(SAMPLE, 'adi-t2-axial', fs.readdirSync(path.join(SAMPLE, 'adi-t2-axial'))[3]);
  const bytes = fs.readFileSync(file);
  await f.classification.classifyFile({
    name: 'slice.dcm',
    type: 'application/dicom',
    arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
  });
  const state = f.classification.getState().file!;
  expect(state.error).toBeNull();
  expect(state.classification!.probabilities).toHaveLength(4);
  const p = state.preview!;
  expect([p.width, p.height]).toEqual([64, 64]); // the model's input size
  expect(p.gray).toHaveLength(64 * 64);
  // A head, not a blank: the robust min-max spreads the slice over the grey range, background dark.
  const sorted = Array.from(p.gray).sort((a, b) => a - b);
  expect(sorted[Math.floor(0.02 * sorted.length)]).toBeLessThan(10);
  expect(sorted[Math.floor(0.98 * sorted.length)]).toBeGreaterThan(200);
  expect(f.classification.getState().history[0]).toMatchObject({ file: 'slice.dcm', modelVersion: 'cs-test-1' });
  // A file that is not an image: a clear message, no preview.
  await f.classification.classifyFile({
    name: 'notes.txt',
    type: 'text/plain',
    arrayBuffer: async () => new ArrayBuffer(8),
  });
  expect(f.classification.getState().file).toMatchObject({
    classification: null,
    error: expect.stringMatching(/not supported/),
  });
});
