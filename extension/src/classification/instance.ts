/**
 * The page's one controller, bound to the real inference module. TensorFlow.js is imported lazily, only when a
 * registry is found, so a viewer without a model never pays for it. The host config can override the URLs and
 * the backend (window.config.ssclnet = { modelsUrl, wasmPaths, backend }); the demo server serves /models/ and
 * the wasm files next to the extension bundle under /plugins/. `backend` ('auto' by default) lets an admin pin
 * 'wasm' on workstations whose GPU driver misrenders WebGL, or 'webgl' where detection undersells the GPU.
 */
import type { BackendPreference } from '../inference';
import { ClassificationController } from './controller';

interface HostConfig { ssclnet?: { modelsUrl?: string; wasmPaths?: string; backend?: BackendPreference } }

let controller: ClassificationController | null = null;

export function getController(): ClassificationController {
  if (!controller) {
    const cfg = (globalThis as { config?: HostConfig }).config?.ssclnet ?? {};
    controller = new ClassificationController(
      {
        loadModel: async (options) => (await import('../inference/classifier')).loadModel(options),
        classify: async (model, slice) => (await import('../inference/classifier')).classify(model, slice),
      },
      { modelsUrl: cfg.modelsUrl ?? '/models/', wasmPaths: cfg.wasmPaths ?? '/plugins/', backend: cfg.backend },
    );
  }
  return controller;
}
