/**
 * How the engine's tfjs runs (issue 16): wasm threads where the page is cross-origin isolated (SharedArrayBuffer
 * exists; tfjs-backend-wasm then loads tfjs-backend-wasm-threaded-simd.wasm and starts its pthread workers from
 * blob: URLs), the single-threaded SIMD build where it is not, and the report of what answered.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

import type { EngineRuntime } from './types';

/** Upper bound on XNNPACK threads: tfjs-backend-wasm's threaded build pre-allocates a pool of 8 pthread workers. */
export const MAX_WASM_THREADS = 8;

let configured = false;

/** Whether this realm may use shared memory (the page, and so its workers, are cross-origin isolated). */
export function isCrossOriginIsolated(): boolean {
  return (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true;
}

/**
 * Sets the XNNPACK thread count before the wasm backend first starts (later calls do nothing: tfjs reads it once).
 * `requested`: a positive number, or undefined for one thread per logical core (navigator.hardwareConcurrency).
 */
export function configureWasmThreads(requested?: number): void {
  if (configured) return;
  configured = true;
  // On the page (configuration `inference: 'main'`) the page's CSP does not let scripts run from blob: URLs, which
  // the threaded build's pthread workers need; one thread requested means the same. The single-threaded SIMD
  // build is then chosen up front (tfjs reads this flag when the wasm backend starts).
  // Without cross-origin isolation there is no SharedArrayBuffer and tfjs picks the single-threaded build itself.
  if (requested === 1 || typeof (globalThis as { document?: unknown }).document !== 'undefined') {
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    setThreadsCount(1);
    return;
  }
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  const cores = nav?.hardwareConcurrency ?? 1;
  const asked = Number.isInteger(requested) && (requested as number) > 0 ? (requested as number) : cores;
  const n = Math.max(1, Math.min(MAX_WASM_THREADS, asked));
  setThreadsCount(n);
  // tfjs-backend-wasm grants min(requested, hardwareConcurrency / 2) XNNPACK threads: it assumes two logical
  // cores per physical one. Where that is not so (a VM's vCPUs; on 2 of them it grants one thread, and half the
  // machine idles), the engine's worker reports twice the requested count to the wasm module, which reads it once
  // when the backend starts. Only this worker's navigator is changed; the pthread pool holds 8 workers either way.
  if (nav && n > Math.floor(cores / 2)) {
    Object.defineProperty(nav, 'hardwareConcurrency', { value: 2 * n, configurable: true });
  }
}

/** The backend that answered and, for wasm, its build (SIMD, threads) and thread count. */
export async function runtimeInfo(cache?: { fetchedBytes: number; cachedBytes: number }): Promise<EngineRuntime> {
  const backend = tf.getBackend() ?? '';
  let threads: number | null = null;
  let simd: boolean | null = null;
  let threaded: boolean | null = null;
  if (backend === 'wasm') {
    simd = Boolean(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'));
    threaded = Boolean(await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT')) && simd;
    try {
      threads = getThreadsCount();
    } catch {
      threads = null;
    }
  }
  const label =
    backend === 'wasm' ? `wasm${simd ? ' SIMD' : ''}, ${threaded ? `${threads} threads` : '1 thread'}` : backend;
  return {
    backend,
    label,
    threads,
    simd,
    threaded,
    crossOriginIsolated: isCrossOriginIsolated(),
    modelBytesFetched: cache?.fetchedBytes ?? 0,
    modelBytesFromCache: cache?.cachedBytes ?? 0,
  };
}
