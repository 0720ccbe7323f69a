/**
 * Entry of dist/ssclnet-inference.js. Started as a module Web Worker (the default), it answers the viewer's
 * requests ({id, method, args} -> {id, ok, result | error}); imported on the page (configuration
 * `inference: 'main'`, for comparison), it hands out an InferenceCore that runs on the main thread.
 */
import { InferenceCore } from './core';
import type { CoreMethod, WorkerRequest, WorkerResponse } from './types';

export { InferenceCore };

export function createInferenceCore(): InferenceCore {
  return new InferenceCore('main');
}

const METHODS: CoreMethod[] = [
  'load',
  'verify',
  'classify',
  'classifyFile',
  'info',
  'explain',
  'buildReport',
  'storeReport',
  'findPriorResults',
];

function transferablesOf(result: unknown): Transferable[] {
  if (!result || typeof result !== 'object') return [];
  const r = result as { buffer?: unknown; heatmap?: { rgba?: Uint8ClampedArray } | null };
  if (r.buffer instanceof ArrayBuffer) return [r.buffer];
  if (r.heatmap?.rgba) return [r.heatmap.rgba.buffer as ArrayBuffer];
  return [];
}

interface WorkerScope {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage: (message: WorkerResponse) => void;
}

const isWorker =
  typeof self !== 'undefined' &&
  typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined' &&
  typeof (globalThis as { document?: unknown }).document === 'undefined';

if (isWorker) {
  const scope = self as unknown as WorkerScope;
  const core = new InferenceCore('worker');
  scope.onmessage = (e) => {
    const { id, method, args } = e.data;
    if (!METHODS.includes(method)) {
      scope.postMessage({ id, ok: false, error: `unknown method ${String(method)}` });
      return;
    }
    (core[method] as (a: unknown) => Promise<unknown>)(args).then(
      // Large binary results (a heatmap, an SR file) are transferred, not copied.
      (result) =>
        (scope.postMessage as (m: WorkerResponse, t?: Transferable[]) => void)(
          { id, ok: true, result },
          transferablesOf(result),
        ),
      (err) => scope.postMessage({ id, ok: false, error: err instanceof Error ? err.message : String(err) }),
    );
  };
}
