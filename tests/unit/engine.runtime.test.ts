/**
 * The engine's wasm thread request (issue 16): one XNNPACK thread per logical core in the (isolated) worker. tfjs
 * grants min(requested, hardwareConcurrency / 2), so the worker's navigator must report twice the request before the
 * backend starts; on the page, or with one thread asked for, the single-threaded build is chosen and nothing changes.
 */
const setThreadsCount = jest.fn();
jest.mock('@tensorflow/tfjs-backend-wasm', () => ({
  ...jest.requireActual('@tensorflow/tfjs-backend-wasm'), // registers the WASM_* flags the page path sets
  setThreadsCount,
}));

type Realm = { navigator?: { hardwareConcurrency?: number }; document?: unknown };
const realm = globalThis as unknown as Realm;

function configure(cores: number, requested?: number, onPage = false): { navigator: { hardwareConcurrency?: number } } {
  const nav = Object.create({ hardwareConcurrency: cores }) as { hardwareConcurrency?: number };
  const saved = { navigator: realm.navigator, document: realm.document };
  Object.defineProperty(globalThis, 'navigator', { value: nav, configurable: true, writable: true });
  if (onPage) realm.document = {};
  try {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../../extension/src/engine/runtime').configureWasmThreads(requested);
    });
  } finally {
    Object.defineProperty(globalThis, 'navigator', { value: saved.navigator, configurable: true, writable: true });
    if (onPage) delete realm.document;
  }
  return { navigator: nav };
}

beforeEach(() => setThreadsCount.mockClear());

test('on 2 logical cores the worker asks for 2 threads and reports 4 cores to tfjs, which then grants 2', () => {
  const { navigator } = configure(2);
  expect(setThreadsCount).toHaveBeenCalledWith(2);
  expect(navigator.hardwareConcurrency).toBe(4);
});

test('an explicit request is honoured and capped at the 8 pre-spawned pthread workers', () => {
  expect(configure(16, 3).navigator.hardwareConcurrency).toBe(16); // 3 <= 16 / 2: tfjs grants it as it is
  expect(setThreadsCount).toHaveBeenLastCalledWith(3);
  expect(configure(32).navigator.hardwareConcurrency).toBe(32);
  expect(setThreadsCount).toHaveBeenLastCalledWith(8);
});

test('one thread, or the page itself, leaves the navigator alone', () => {
  expect(configure(2, 1).navigator.hardwareConcurrency).toBe(2);
  expect(setThreadsCount).toHaveBeenLastCalledWith(1);
  expect(configure(4, undefined, true).navigator.hardwareConcurrency).toBe(4);
  expect(setThreadsCount).toHaveBeenLastCalledWith(1);
});
