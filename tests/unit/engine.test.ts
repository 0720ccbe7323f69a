// The page's side of the inference engine: requests to the Web Worker and their answers, the pixels sent as a
// transferred copy (Cornerstone's cached buffer is never detached), a worker that fails to start fails every
// waiting request with the reason and the next request starts a fresh one; the main-thread engine imports the
// same bundle. Config: where the engine and the wasm files are found.
import { MainThreadEngine, WorkerEngine, createEngine, type WorkerLike } from '../../extension/src/engine/client';
import type { InferenceCoreLike, WorkerRequest } from '../../extension/src/engine/types';
import { resolveConfig } from '../../extension/src/config';

const answer = {
  probabilities: [1, 0],
  classes: ['a', 'b'],
  top: { label: 'a', probability: 1, index: 0 },
  outOfRange: null,
  modelVersion: 'v',
  backend: 'wasm',
  ms: 1,
};

class FakeWorker implements WorkerLike {
  onmessage: ((e: MessageEvent) => void) | null = null;
  onerror: ((e: ErrorEvent | Event) => void) | null = null;
  sent: { message: WorkerRequest; transfer: Transferable[] }[] = [];
  terminated = false;
  postMessage(message: unknown, transfer: Transferable[] = []) {
    this.sent.push({ message: message as WorkerRequest, transfer });
  }
  terminate() {
    this.terminated = true;
  }
  reply(id: number, body: object) {
    this.onmessage?.({ data: { id, ...body } } as MessageEvent);
  }
}

test('worker engine: one message per request, answers matched by id, errors carried, the pixels transferred as a copy', async () => {
  const workers: FakeWorker[] = [];
  const engine = new WorkerEngine('/plugins/ssclnet-inference.js', (url) => {
    expect(url).toBe('/plugins/ssclnet-inference.js');
    const w = new FakeWorker();
    workers.push(w);
    return w;
  });
  expect(workers).toHaveLength(0); // started on first use only
  const pixels = new Int16Array([1, 2, 3, 4]);
  const first = engine.classify({ slice: { data: pixels, width: 2, height: 2 }, attributes: { Modality: 'MR' } });
  const second = engine.info();
  expect(workers).toHaveLength(1);
  const [w] = workers;
  const [c, i] = w.sent;
  expect(c.message).toMatchObject({
    method: 'classify',
    args: { attributes: { Modality: 'MR' }, slice: { width: 2, height: 2 } },
  });
  const sentPixels = (c.message.args as { slice: { data: Int16Array } }).slice.data;
  expect(Array.from(sentPixels)).toEqual([1, 2, 3, 4]);
  expect(sentPixels).not.toBe(pixels);
  expect(c.transfer).toEqual([sentPixels.buffer]);
  expect(pixels.buffer.byteLength).toBe(8); // the viewer's buffer is untouched
  w.reply(i.message.id, {
    ok: true,
    result: { where: 'worker', backend: 'wasm', registeredBackends: ['wasm'], modelVersion: 'v' },
  });
  w.reply(c.message.id, { ok: false, error: 'No model is loaded' });
  await expect(second).resolves.toMatchObject({ where: 'worker' });
  await expect(first).rejects.toThrow('No model is loaded');

  // The worker script fails to load: waiting requests fail with the reason; the next request starts a new worker.
  const load = engine.load({ registryUrl: '/models' });
  w.onerror?.({ message: 'SyntaxError in ssclnet-inference.js' } as ErrorEvent);
  await expect(load).rejects.toThrow(/SyntaxError/);
  expect(w.terminated).toBe(true);
  const again = engine.classify({ slice: { data: [0, 0, 0, 0], width: 2, height: 2 } });
  expect(workers).toHaveLength(2);
  workers[1].reply(workers[1].sent[0].message.id, { ok: true, result: answer });
  await expect(again).resolves.toEqual(answer);
  engine.dispose();
  expect(workers[1].terminated).toBe(true);
});

test('main-thread engine: imports the inference bundle once and calls its core directly', async () => {
  const imported: string[] = [];
  const core: InferenceCoreLike = {
    load: async () => {
      throw new Error('unused');
    },
    verify: async () => {
      throw new Error('unused');
    },
    classify: async () => answer,
    classifyFile: async () => ({ ...answer, preview: null }),
    info: async () => ({ where: 'main', backend: 'wasm', registeredBackends: ['wasm'], modelVersion: 'v' }),
  };
  const engine = new MainThreadEngine('/plugins/ssclnet-inference.js', async (url) => {
    imported.push(url);
    return { createInferenceCore: () => core };
  });
  expect(engine.where).toBe('main');
  await expect(engine.classify({ slice: { data: [0], width: 1, height: 1 } })).resolves.toEqual(answer);
  await engine.info();
  expect(imported).toEqual(['/plugins/ssclnet-inference.js']);
});

test('configuration: the extension configuration over appConfig.ssclnet over defaults next to the bundle', () => {
  expect(resolveConfig(undefined, undefined, '/plugins/')).toEqual({
    modelsUrl: '/models/',
    wasmPaths: '/plugins/',
    backend: 'auto',
    inference: 'worker',
    inferenceScriptUrl: '/plugins/ssclnet-inference.js',
    autoDebounceMs: 250,
  });
  const c = resolveConfig(
    { backend: 'cpu' },
    { ssclnet: { backend: 'webgl', modelsUrl: 'https://r.example/models/', inference: 'main' } },
    'https://cdn.example/ohif/plugins',
  );
  expect(c).toMatchObject({
    backend: 'cpu',
    modelsUrl: 'https://r.example/models/',
    inference: 'main',
    wasmPaths: 'https://cdn.example/ohif/plugins/',
    inferenceScriptUrl: 'https://cdn.example/ohif/plugins/ssclnet-inference.js',
  });
  expect(resolveConfig({ backend: 'bogus' as never }, undefined, '/p/').backend).toBe('auto');
  expect(createEngine({ inference: 'main', inferenceScriptUrl: '/x.js' }).where).toBe('main');
  expect(createEngine({ inference: 'worker', inferenceScriptUrl: '/x.js' }).where).toBe('worker');
});
