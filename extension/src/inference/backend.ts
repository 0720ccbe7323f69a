/**
 * Choosing the tfjs backend: WebGL when it is hardware-accelerated; wasm when WebGL is software-rendered
 * (SwiftShader, llvmpipe: slower than wasm) or missing, and always in Node; 'cpu' as the last resort.
 * A configured backend overrides the choice.
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

import type { BackendName } from './types';

export type BackendPreference = BackendName | 'auto';

const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|softpipe|software|basic render driver|mesa offscreen/i;

/** The WebGL renderer string (unmasked where allowed), or null when there is no WebGL at all. */
export function webglRenderer(): string | null {
  if (typeof document === 'undefined') return null;
  try {
    const canvas = document.createElement('canvas');
    const gl = (canvas.getContext('webgl2') ?? canvas.getContext('webgl')) as WebGLRenderingContext | null;
    if (!gl) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return renderer;
  } catch {
    return null;
  }
}

export function isSoftwareRenderer(renderer: string): boolean {
  return SOFTWARE_RENDERERS.test(renderer);
}

/** Backends to try, best first, with the reason for the first choice. */
export function backendCandidates(
  preference: BackendPreference,
  renderer = webglRenderer(),
): { order: BackendName[]; reason: string } {
  if (preference !== 'auto') return { order: [preference, 'cpu'], reason: `configured: ${preference}` };
  if (renderer && !isSoftwareRenderer(renderer))
    return { order: ['webgl', 'wasm', 'cpu'], reason: `hardware WebGL (${renderer})` };
  const reason = renderer ? `WebGL is software-rendered (${renderer})` : 'no WebGL';
  return { order: ['wasm', 'cpu'], reason };
}

export interface BackendChoice {
  name: string;
  reason: string;
}

/**
 * Activate the first candidate that initialises; `wasmPaths` is where the tfjs-backend-wasm*.wasm files are served.
 * `renderer`: the WebGL renderer string when the caller knows it better than `webglRenderer()` can (a Web Worker
 * has no `document`: detect it there with an OffscreenCanvas and pass it; null = no WebGL).
 */
export async function activateBackend(
  preference: BackendPreference = 'auto',
  wasmPaths?: string,
  renderer?: string | null,
): Promise<BackendChoice> {
  const { order, reason } =
    renderer === undefined ? backendCandidates(preference) : backendCandidates(preference, renderer);
  if (wasmPaths) setWasmPaths(wasmPaths);
  const failures: string[] = [];
  for (const name of [...new Set(order)]) {
    if (tf.getBackend() === name) return { name, reason };
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return { name, reason: failures.length ? `${reason}; ${failures.join('; ')}` : reason };
      }
      failures.push(`${name} failed to initialise`);
    } catch (e) {
      failures.push(`${name} failed: ${(e as Error).message}`);
    }
  }
  throw new Error(`no TensorFlow.js backend could start (${failures.join('; ')})`);
}
