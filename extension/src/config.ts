/**
 * The extension's settings, from what OHIF hands the extension: the extension's own `configuration` (when a site
 * registers it with one) over `appConfig.ssclnet` (the `ssclnet` key of the site's app-config.js, which OHIF
 * passes to preRegistration), over defaults. URLs default to where the extension bundle itself was loaded from,
 * so the inference bundle and tfjs's .wasm files come from the same origin and folder as the extension.
 */
import type { BackendPreference } from './inference/backend';

export interface SsclnetConfig {
  /** The model registry (folder with models.json). */
  modelsUrl: string;
  /** Where tfjs-backend-wasm's .wasm files are served. */
  wasmPaths: string;
  /** tfjs backend: 'auto' (WebGL when hardware-accelerated, else wasm), or pinned 'wasm' / 'webgl' / 'cpu'. */
  backend: BackendPreference;
  /** Where inference runs: 'worker' (default, a Web Worker) or 'main' (the page's thread; for comparison only). */
  inference: 'worker' | 'main';
  /** URL of dist/ssclnet-inference.js (the worker script and main-thread module). */
  inferenceScriptUrl: string;
  /** Auto mode classifies a slice this long after scrolling stops. */
  autoDebounceMs: number;
}

export type SsclnetConfigInput = Partial<SsclnetConfig>;

declare const __webpack_public_path__: string | undefined;

/** The folder the extension bundle was loaded from (webpack's run-time public path), '/plugins/' outside webpack. */
export function bundleBase(): string {
  const p = typeof __webpack_public_path__ === 'string' ? __webpack_public_path__ : '';
  return p && p !== 'auto' ? p : '/plugins/';
}

const BACKENDS: BackendPreference[] = ['auto', 'webgl', 'wasm', 'cpu'];

export function resolveConfig(
  configuration: SsclnetConfigInput | undefined,
  appConfig: { ssclnet?: SsclnetConfigInput } | undefined,
  base = bundleBase(),
): SsclnetConfig {
  const given: SsclnetConfigInput = { ...(appConfig?.ssclnet ?? {}), ...(configuration ?? {}) };
  const dir = base.endsWith('/') ? base : `${base}/`;
  const backend = given.backend && BACKENDS.includes(given.backend) ? given.backend : 'auto';
  return {
    modelsUrl: given.modelsUrl ?? '/models/',
    wasmPaths: given.wasmPaths ?? dir,
    backend,
    inference: given.inference === 'main' ? 'main' : 'worker',
    inferenceScriptUrl: given.inferenceScriptUrl ?? `${dir}ssclnet-inference.js`,
    autoDebounceMs: typeof given.autoDebounceMs === 'number' && given.autoDebounceMs >= 0 ? given.autoDebounceMs : 250,
  };
}
