// The panel's classification state on a real exported model (random weights, 64 px, wasm backend in Node) and
// real DICOM: model status, one result per request carrying the model version, stale results dropped, and bad
// input shown as an error with no result left on screen.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classify, loadModel } from '../../extension/src/inference/classifier';
import { readDicomSlices } from '../../extension/src/inference/dicomFile';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import type { LoadOptions } from '../../extension/src/inference/classifier';
import { ClassificationController } from '../../extension/src/classification/controller';
import { PixelPathError, rawSliceFromImage } from '../../extension/src/classification/pixelPath';
import { exportModel, python, randomCheckpoint, tmpDir } from './inferenceFixtures';

jest.setTimeout(120_000);
const SAMPLE = path.join(__dirname, '../../demo/sample-study/adi-t2-axial');
let modelDir = '';
const slice = (name: string) => readDicomSlices(new Uint8Array(fs.readFileSync(path.join(SAMPLE, name))))[0];

beforeAll(() => {
  const work = tmpDir('ctrl');
  modelDir = exportModel(randomCheckpoint(work, 64), path.join(work, 'model'), 'ctrl-test-1');
});

/** The real inference module, reading the exported folder instead of HTTP. */
const realApi = () => ({
  loadModel: (o: LoadOptions) => loadModel({ ...o, url: undefined, source: fsSource(modelDir), backend: 'wasm' }),
  classify,
});
const registryFound = async () => ({ status: 200, ok: true });

test('no models.json: the panel state says so plainly and nothing loads', async () => {
  const loads: unknown[] = [];
  const c = new ClassificationController({ loadModel: async (o) => { loads.push(o); throw new Error('unreachable'); }, classify }, {
    modelsUrl: '/models/', fetch: async () => ({ status: 404, ok: false }),
  });
  await c.ensureModel();
  expect(c.getState().model).toEqual({ kind: 'none', message: expect.stringMatching(/No model published in this viewer's registry/) });
  expect(loads).toHaveLength(0);
  expect(await c.classifySlice(() => ({ raw: slice('IM0024.dcm'), identity: null }))).toBeNull();
  expect(c.getState().result).toBeNull();
});

test('a model that fails to load (hash mismatch) is reported, and no result is produced', async () => {
  const bad = tmpDir('ctrl-bad');
  fs.cpSync(modelDir, bad, { recursive: true });
  const shard = fs.readdirSync(bad).find((f) => f.endsWith('.bin'))!;
  const bytes = fs.readFileSync(path.join(bad, shard));
  bytes[100] ^= 0xff;
  fs.writeFileSync(path.join(bad, shard), bytes);
  const c = new ClassificationController({ loadModel: (o) => loadModel({ ...o, url: undefined, source: fsSource(bad), backend: 'wasm' }), classify }, { modelsUrl: '/models', fetch: registryFound });
  await c.ensureModel();
  const m = c.getState().model;
  expect(m.kind).toBe('failed');
  expect(m.kind === 'failed' && m.message).toMatch(/could not be loaded: .*SHA-256 mismatch/);
});

test('the host-configured backend is the one the model runs on', async () => {
  const c = new ClassificationController({ loadModel: (o) => loadModel({ ...o, url: undefined, source: fsSource(modelDir) }), classify }, {
    modelsUrl: '/models', fetch: registryFound, backend: 'cpu',
  });
  await c.ensureModel();
  const m = c.getState().model;
  expect(m.kind === 'ready' && m.backend).toBe('cpu');
  const result = await c.classifySlice(() => ({ raw: slice('IM0024.dcm'), identity: null }));
  expect(result?.classification.backend).toBe('cpu');
});

test('classifies a real slice: probabilities sum to 1, the model version is carried, stale and bad requests leave no result', async () => {
  const c = new ClassificationController(realApi(), { modelsUrl: '/models', fetch: registryFound });
  await Promise.all([c.ensureModel(), c.ensureModel()]);
  const m = c.getState().model;
  expect(m).toMatchObject({ kind: 'ready', version: 'ctrl-test-1', backend: 'wasm' });
  expect(m.kind === 'ready' && m.intendedUse).toMatch(/Research/);

  const identity = { studyInstanceUID: 's', seriesInstanceUID: 'r', sopInstanceUID: 'i', frame: 0, sliceIndex: 2, sliceCount: 7, imageId: 'x' };
  const r = await c.classifySlice(() => ({ raw: slice('IM0024.dcm'), identity }));
  expect(r).not.toBeNull();
  const p = r!.classification.probabilities;
  expect(p).toHaveLength(4);
  expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
  expect(r!.classification.modelVersion).toBe('ctrl-test-1');
  expect(c.getState().result).toBe(r);
  // Same numbers as the inference module called directly.
  const direct = await classify(c.model!, slice('IM0024.dcm'));
  expect(direct.probabilities).toEqual(p);

  // Two requests in flight: only the newer one is shown.
  const first = c.classifySlice(() => ({ raw: slice('IM0012.dcm'), identity: { ...identity, sliceIndex: 0 } }));
  const second = c.classifySlice(() => ({ raw: slice('IM0048.dcm'), identity: { ...identity, sliceIndex: 6 } }));
  expect(await first).toBeNull();
  expect((await second)!.identity!.sliceIndex).toBe(6);
  expect(c.getState().result!.identity!.sliceIndex).toBe(6);

  // Bad input (missing pixel data): a clear error, the previous result is gone.
  await c.classifySlice(() => ({ raw: rawSliceFromImage({ rows: 4, columns: 4, getPixelData: () => null }), identity }));
  expect(c.getState().result).toBeNull();
  expect(c.getState().error).toMatch(/no pixel data/);
  expect(() => rawSliceFromImage({ rows: 4, columns: 4, getPixelData: () => null })).toThrow(PixelPathError);
});

test('model updates: a newer latest is announced, switched to on confirmation; a hash mismatch keeps the previous model', async () => {
  const work = tmpDir('ctrl-update');
  const registry = path.join(work, 'registry');
  const publish = (dir: string) => python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--model', dir]);
  publish(modelDir); // ctrl-test-1
  const fetchIndex = async () => ({ status: 200, ok: true, json: async () => JSON.parse(fs.readFileSync(path.join(registry, 'models.json'), 'utf8')) });
  const c = new ClassificationController(
    { loadModel: (o: LoadOptions) => loadModel({ source: fsSource(registry), version: o.version, backend: 'wasm' }), classify },
    { modelsUrl: '/models', fetch: fetchIndex },
  );
  await c.ensureModel();
  expect(c.getState().model).toMatchObject({ kind: 'ready', version: 'ctrl-test-1' });
  expect(await c.checkForUpdate()).toBeNull();
  expect(c.getState().update.message).toMatch(/ctrl-test-1 is the latest/);

  // v2 published, with a corrupted shard: announced, but switching fails and v1 stays in use.
  const v2 = exportModel(randomCheckpoint(work, 64, 9), path.join(work, 'v2'), 'ctrl-test-2');
  publish(v2);
  const shard = fs.readdirSync(path.join(registry, 'ctrl-test-2')).find((f) => f.endsWith('.bin'))!;
  const shardPath = path.join(registry, 'ctrl-test-2', shard);
  const good = fs.readFileSync(shardPath);
  const bad = Buffer.from(good);
  bad[10] ^= 0xff;
  fs.writeFileSync(shardPath, bad);
  expect(await c.checkForUpdate()).toBe('ctrl-test-2');
  expect(c.getState().model).toMatchObject({ version: 'ctrl-test-1' }); // not switched without confirmation
  expect(await c.confirmUpdate()).toBe(false);
  expect(c.getState().update.message).toMatch(/ctrl-test-2 could not be loaded; still using ctrl-test-1: .*SHA-256 mismatch/);
  const still = await c.classifySlice(() => ({ raw: slice('IM0024.dcm'), identity: null }));
  expect(still!.classification.modelVersion).toBe('ctrl-test-1');

  // Repaired: the switch happens, and results carry the new version.
  fs.writeFileSync(shardPath, good);
  expect(await c.confirmUpdate()).toBe(true);
  expect(c.getState().model).toMatchObject({ kind: 'ready', version: 'ctrl-test-2' });
  const after = await c.classifySlice(() => ({ raw: slice('IM0024.dcm'), identity: null }));
  expect(after!.classification.modelVersion).toBe('ctrl-test-2');
  expect(after!.classification.probabilities).not.toEqual(still!.classification.probabilities);
});
