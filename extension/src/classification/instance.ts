/**
 * The page's one controller, bound to the real inference module. TensorFlow.js is imported lazily, only when a
 * registry is found, so a viewer without a model never pays for it. URLs can be overridden by the host config
 * (window.config.ssclnet = { modelsUrl, wasmPaths }); the demo server serves /models/ and the wasm files next
 * to the extension bundle under /plugins/.
 */
import { ClassificationController } from './controller';

interface HostConfig { ssclnet?: { modelsUrl?: string; wasmPaths?: string } }

let controller: ClassificationController | null = null;

export function getController(): ClassificationController {
  if (!controller) {
    const cfg = (globalThis as { config?: HostConfig }).config?.ssclnet ?? {};
    controller = new ClassificationController(
      {
        loadModel: async (options) => (await import('../inference/classifier')).loadModel(options),
        classify: async (model, slice) => (await import('../inference/classifier')).classify(model, slice),
      },
      { modelsUrl: cfg.modelsUrl ?? '/models/', wasmPaths: cfg.wasmPaths ?? '/plugins/' },
    );
  }
  return controller;
}
