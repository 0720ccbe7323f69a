// The model service on a real registry (random 64 px models published by the trainer, tfjs wasm in Node through
// the main-thread engine): status, one models.json fetch per check (the engine never reads it again), updates
// announced but switched only on request, a hash mismatch keeps the model in use, rollback, events.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classify as classifyDirect, loadModel } from '../../extension/src/inference/classifier';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import { ModelService } from '../../extension/src/services/ModelService';
import { makeServices, publishRandom, readSlice, record } from './servicesFixtures';
import { tmpDir } from './inferenceFixtures';

jest.setTimeout(180_000);
let work = '';
let registry = '';

beforeAll(() => {
  work = tmpDir('model-service');
  registry = path.join(work, 'registry');
  publishRandom(work, registry, 'ms-test-1', 0);
});

test('REGISTRATION and EVENTS have the shape of OHIF services', () => {
  expect(ModelService.REGISTRATION).toMatchObject({ name: 'ssclnetModelService', altName: 'SsclnetModelService' });
  expect(typeof ModelService.REGISTRATION.create).toBe('function');
  for (const e of Object.values(ModelService.EVENTS)) expect(e).toMatch(/^event::ssclnetModelService:/);
  const { modelService } = makeServices(registry);
  const sub = modelService.subscribe(ModelService.EVENTS.STATE_CHANGED, () => undefined);
  expect(modelService.listenerCount()).toBe(1 + 1); // ours + the classification service's MODEL_CHANGED
  sub.unsubscribe();
  expect(() => modelService.subscribe('event::nope', () => undefined)).toThrow(/not supported/);
});

test('no models.json: the state says so plainly, nothing loads, classification says no model', async () => {
  const empty = tmpDir('no-registry');
  const { modelService, classification, engine, fetches } = makeServices(empty);
  await modelService.ensureLoaded();
  expect(modelService.getState().status).toEqual({
    kind: 'none',
    message: expect.stringMatching(/No model published in this viewer's registry/),
  });
  expect(fetches).toEqual(['/models/models.json']);
  expect(await classification.classifySlice()).toBeNull();
  expect(classification.getState().result).toBeNull();
  expect(engine.calls).toBe(0);
});

test('loads latest with one models.json fetch; the configured backend is used; same numbers as the inference module', async () => {
  const { modelService, classification, fetches, engineIndexReads } = makeServices(registry, { backend: 'cpu' });
  const events = record(modelService);
  await Promise.all([modelService.ensureLoaded(), modelService.ensureLoaded()]);
  expect(fetches).toHaveLength(1);
  expect(engineIndexReads.index).toBe(0);
  expect(modelService.getState().status).toMatchObject({
    kind: 'ready',
    version: 'ms-test-1',
    backend: 'cpu',
    where: 'main',
  });
  expect(events.map((e) => e.event)).toEqual(['STATE_CHANGED', 'STATE_CHANGED', 'STATE_CHANGED', 'MODEL_CHANGED']);
  const r = await classification.classifySlice();
  expect(r!.classification.backend).toBe('cpu');
  const direct = await classifyDirect(
    await loadModel({ source: fsSource(path.join(registry)), backend: 'cpu' }),
    readSlice(0),
  );
  expect(r!.classification.probabilities).toEqual(direct.probabilities);
});

test('a model that fails to load (hash mismatch) is reported, and no result is produced', async () => {
  const bad = path.join(work, 'bad-registry');
  fs.cpSync(registry, bad, { recursive: true });
  const dir = path.join(bad, 'ms-test-1');
  const shard = fs.readdirSync(dir).find((f) => f.endsWith('.bin'))!;
  const bytes = fs.readFileSync(path.join(dir, shard));
  bytes[100] ^= 0xff;
  fs.writeFileSync(path.join(dir, shard), bytes);
  const { modelService, classification } = makeServices(bad);
  await modelService.ensureLoaded();
  const m = modelService.getState().status;
  expect(m.kind).toBe('failed');
  expect(m.kind === 'failed' && m.message).toMatch(/could not be loaded: .*SHA-256 mismatch/);
  expect(await classification.classifySlice()).toBeNull();
});

test('updates: one fetch per check, announced not switched, a bad download keeps v1, switch, verify, roll back', async () => {
  const reg = path.join(work, 'update-registry');
  publishRandom(work, reg, 'up-1', 1);
  const { modelService, classification, fetches, engineIndexReads } = makeServices(reg);
  await modelService.ensureLoaded();
  expect(await modelService.checkForUpdate()).toBeNull();
  expect(modelService.getState().update.message).toMatch(/up-1 is the latest/);
  expect(fetches).toHaveLength(2); // load + check

  publishRandom(work, reg, 'up-2', 9, true); // corrupted shard
  const events = record(modelService, ['STATE_CHANGED']);
  expect(await modelService.checkForUpdate()).toBe('up-2');
  expect(fetches).toHaveLength(3);
  expect(events.map((e) => e.event)).toEqual(['UPDATE_AVAILABLE']);
  expect(modelService.getState().status).toMatchObject({ version: 'up-1' }); // not switched without a request
  expect(modelService.getState().versions.map((v) => v.version)).toEqual(['up-1', 'up-2']);
  expect(await modelService.verify('up-2')).toEqual({ ok: false, message: expect.stringMatching(/SHA-256 mismatch/) });
  expect(await modelService.switchTo()).toBe(false);
  expect(modelService.getState().update.message).toMatch(
    /up-2 could not be loaded; still using up-1: .*SHA-256 mismatch/,
  );
  const still = await classification.classifySlice();
  expect(still!.classification.modelVersion).toBe('up-1');

  // Repaired: verify passes, the switch happens, results carry the new version; stale results are cleared.
  fs.rmSync(path.join(reg, 'up-2'), { recursive: true });
  fs.rmSync(path.join(work, 'up-2'), { recursive: true });
  const models = JSON.parse(fs.readFileSync(path.join(reg, 'models.json'), 'utf8'));
  models.versions = models.versions.filter((v: { version: string }) => v.version !== 'up-2');
  models.latest = 'up-1';
  fs.writeFileSync(path.join(reg, 'models.json'), JSON.stringify(models));
  publishRandom(work, reg, 'up-2', 9);
  expect(await modelService.verify('up-2')).toMatchObject({ ok: true });
  const before = fetches.length;
  expect(await modelService.switchTo('up-2')).toBe(true);
  expect(fetches.length - before).toBe(1);
  expect(engineIndexReads.index).toBe(0);
  expect(events.map((e) => e.event)).toContain('MODEL_CHANGED');
  expect(modelService.getState().status).toMatchObject({ kind: 'ready', version: 'up-2' });
  expect(classification.getState().result).toBeNull(); // up-1's answer is not shown as up-2's
  const after = await classification.classifySlice();
  expect(after!.classification.modelVersion).toBe('up-2');
  expect(after!.classification.probabilities).not.toEqual(still!.classification.probabilities);

  // Roll back: the version used before, verified again; results carry it.
  expect(modelService.getState().previous).toEqual(['up-1']);
  expect(await modelService.rollBack()).toBe(true);
  expect(modelService.getState().status).toMatchObject({ kind: 'ready', version: 'up-1' });
  const back = await classification.classifySlice();
  expect(back!.classification.modelVersion).toBe('up-1');
  expect(back!.classification.probabilities).toEqual(still!.classification.probabilities);
  expect(await makeServices(reg).modelService.rollBack()).toBe(false);
});
