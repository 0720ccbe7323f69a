/** Node entry of the inference module: load from a local folder or an http(s) URL with one call. */
import { loadModel, type LoadOptions, type LoadedModel } from '../classifier';
import { fsSource } from './fsSource';

export { fsSource };

/** `location` is a registry or model folder on disk, or an http(s) URL of one. Node defaults to the wasm backend. */
export function loadModelFrom(
  location: string,
  options: Omit<LoadOptions, 'url' | 'source'> = {},
): Promise<LoadedModel> {
  const isUrl = /^https?:\/\//i.test(location);
  return loadModel({ backend: 'wasm', ...options, ...(isUrl ? { url: location } : { source: fsSource(location) }) });
}
