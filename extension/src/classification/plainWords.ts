/**
 * Plain words (views and the viewport overlay) for what the model's card names in its own terms (class ids like "notumor", backends like "wasm").
 * The raw names stay in data attributes, the history and the exports; the radiologist reads these.
 */
const CLASS_NAMES: Record<string, string> = {
  notumor: 'No tumour',
  no_tumor: 'No tumour',
  glioma: 'Glioma',
  meningioma: 'Meningioma',
  pituitary: 'Pituitary tumour',
};

/** "notumor" -> "No tumour"; an unknown class id is shown with a capital and spaces for underscores. */
export function className(id: string): string {
  const known = CLASS_NAMES[id.toLowerCase()];
  if (known) return known;
  const spaced = id.replace(/[_-]+/g, ' ').trim();
  return spaced ? spaced[0].toUpperCase() + spaced.slice(1) : id;
}

const BACKENDS: Record<string, string> = { wasm: 'WebAssembly (CPU)', webgl: 'WebGL (GPU)', cpu: 'JavaScript (CPU)' };
export const backendName = (b: string) => BACKENDS[b] ?? b;

export const percent = (p: number) => `${(p * 100).toFixed(1)}%`;
