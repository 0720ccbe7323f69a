/**
 * Resolve and verify a model artifact: a registry (models.json -> version folder) or a model folder
 * (model-card.json). Every byte used is checked against a SHA-256 before use: the card against the
 * registry's `card_sha256`, model.json and each shard against the card. Each file is read once.
 */
import type { ModelCard, RegistryIndex } from './types';
import type { ArtifactSource } from './source';
import { sha256Hex, verifyBytes, IntegrityError } from './sha256';

export const CARD_NAME = 'model-card.json';
export const REGISTRY_INDEX = 'models.json';

export interface VerifiedArtifact {
  card: ModelCard;
  modelJson: { modelTopology: object; weightsManifest: { paths: string[]; weights: object[] }[]; format?: string };
  /** All shards, concatenated in manifest order. */
  weightData: ArrayBuffer;
  weightSpecs: object[];
  location: string;
  /** Total bytes read and verified (card, model.json, shards, feature-gate file). */
  bytes: number;
  /** `in_range.features.file` (card_format 2), verified; null when the card has no feature gate. */
  gaussians: Uint8Array | null;
}

/** Card formats this module reads: 1 (classifier only), 2 (+ calibration, in_range). */
export const CARD_FORMATS = [1, 2];

/** A file named by the card must be a plain relative path inside the model folder. */
export function safeRelativePath(p: unknown): p is string {
  if (typeof p !== 'string' || !p || p.length > 255) return false;
  if (p.startsWith('/') || p.includes('\\') || /^[a-zA-Z]:/.test(p)) return false;
  return p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..' && /^[A-Za-z0-9._-]+$/.test(seg));
}

const decoder = new TextDecoder();

function parseJson<T>(bytes: Uint8Array, what: string): T {
  try {
    return JSON.parse(decoder.decode(bytes)) as T;
  } catch (e) {
    throw new Error(`${what} is not valid JSON (${(e as Error).message})`);
  }
}

async function mustRead(source: ArtifactSource, file: string, fresh = false): Promise<Uint8Array> {
  const bytes = await source.read(file, { fresh });
  if (!bytes) throw new Error(`${source.location}: ${file} is missing`);
  return bytes;
}

/** The model folder's source and its card bytes, verified against the registry when there is one. */
async function resolveCard(
  source: ArtifactSource,
  version?: string,
): Promise<{ dir: ArtifactSource; cardBytes: Uint8Array }> {
  const indexBytes = await source.read(REGISTRY_INDEX, { fresh: true });
  if (!indexBytes) {
    if (version) throw new Error(`${source.location}: no ${REGISTRY_INDEX}, so version ${version} can't be chosen`);
    const cardBytes = await source.read(CARD_NAME, { fresh: true });
    if (!cardBytes)
      throw new Error(`${source.location}: neither ${REGISTRY_INDEX} (registry) nor ${CARD_NAME} (model folder)`);
    return { dir: source, cardBytes };
  }
  const index = parseJson<RegistryIndex>(indexBytes, `${source.location}/${REGISTRY_INDEX}`);
  const wanted = version ?? index.latest;
  const entry = (index.versions ?? []).find((v) => v.version === wanted);
  if (!entry) throw new Error(`${source.location}: version ${wanted} is not in ${REGISTRY_INDEX}`);
  const folder = entry.path ?? entry.version;
  // One plain folder name inside the registry (the rule `ssclnet publish` writes): no '/', '..', backslashes, drive letters.
  if (typeof folder !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(folder)) {
    throw new Error(
      `${source.location}/${REGISTRY_INDEX}: version ${JSON.stringify(entry.version)} has folder ${JSON.stringify(folder)}; a version must be one plain folder name inside the registry`,
    );
  }
  const dir = source.sub(folder);
  // Version folders are immutable, so the card may come from cache; its hash is checked anyway.
  const cardBytes = await mustRead(dir, CARD_NAME);
  const actual = await sha256Hex(cardBytes);
  if (actual !== entry.card_sha256)
    throw new IntegrityError(`${entry.version}/${CARD_NAME}`, entry.card_sha256, actual);
  return { dir, cardBytes };
}

function checkCard(card: ModelCard, where: string): void {
  const missing = ['version', 'classes', 'preprocess', 'files'].filter((k) => card[k] === undefined);
  if (missing.length) throw new Error(`${where}: model card lacks ${missing.join(', ')}`);
  if (!Array.isArray(card.classes) || card.classes.length < 2) throw new Error(`${where}: model card needs 2+ classes`);
  const format = card.card_format ?? 1;
  if (!CARD_FORMATS.includes(format)) {
    throw new Error(
      `${where}: card_format ${format} is not supported (this viewer reads ${CARD_FORMATS.join(', ')}); update the viewer`,
    );
  }
  const cal = card.calibration;
  if (cal) {
    if (cal.method !== 'temperature')
      throw new Error(`${where}: calibration method ${String(cal.method)} is not supported (temperature)`);
    if (!(typeof cal.temperature === 'number' && cal.temperature > 0 && Number.isFinite(cal.temperature))) {
      throw new Error(`${where}: calibration.temperature must be a positive number`);
    }
  }
  const gate = card.in_range?.features;
  if (gate) {
    if (gate.method !== 'mahalanobis-tied')
      throw new Error(`${where}: feature gate method ${String(gate.method)} is not supported (mahalanobis-tied)`);
    if (!safeRelativePath(gate.file))
      throw new Error(`${where}: in_range.features.file must be a relative path inside the model folder`);
    if (!(Number.isInteger(gate.dim) && gate.dim > 0))
      throw new Error(`${where}: in_range.features.dim must be a positive integer`);
    if (!(typeof gate.threshold === 'number' && Number.isFinite(gate.threshold)))
      throw new Error(`${where}: in_range.features.threshold must be a number`);
    if (typeof gate.layer !== 'string' || !gate.layer) throw new Error(`${where}: in_range.features.layer is missing`);
  }
}

export async function loadVerifiedArtifact(source: ArtifactSource, version?: string): Promise<VerifiedArtifact> {
  const { dir, cardBytes } = await resolveCard(source, version);
  const card = parseJson<ModelCard>(cardBytes, `${dir.location}/${CARD_NAME}`);
  checkCard(card, dir.location);
  const modelBytes = await mustRead(dir, 'model.json');
  await verifyBytes('model.json', modelBytes, card.files['model.json']);
  const modelJson = parseJson<VerifiedArtifact['modelJson']>(modelBytes, `${dir.location}/model.json`);
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${dir.location}/model.json is not a TensorFlow.js layers model`);
  }
  const shards: Uint8Array[] = [];
  const weightSpecs: object[] = [];
  for (const group of modelJson.weightsManifest) {
    for (const p of group.paths) {
      if (!safeRelativePath(p) || !/^group\d{1,4}-shard\d{1,4}of\d{1,4}\.bin$/.test(p)) {
        throw new Error(
          `${dir.location}/model.json: weight file ${JSON.stringify(p)} is not a shard name of this format`,
        );
      }
      const bytes = await mustRead(dir, p);
      await verifyBytes(p, bytes, card.files[p]);
      shards.push(bytes);
    }
    weightSpecs.push(...group.weights);
  }
  let gaussians: Uint8Array | null = null;
  const gate = card.in_range?.features;
  if (gate) {
    gaussians = await mustRead(dir, gate.file);
    await verifyBytes(gate.file, gaussians, card.files[gate.file]);
    const want = 4 * (card.classes.length * gate.dim + gate.dim * gate.dim);
    if (gaussians.byteLength !== want) {
      throw new Error(
        `${dir.location}/${gate.file} has ${gaussians.byteLength} bytes; ${card.classes.length} classes x ${gate.dim} dims need ${want}`,
      );
    }
  }
  const total = shards.reduce((n, s) => n + s.byteLength, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const s of shards) {
    weightData.set(s, offset);
    offset += s.byteLength;
  }
  return {
    card,
    modelJson,
    weightData: weightData.buffer,
    weightSpecs,
    location: dir.location,
    bytes: total + modelBytes.byteLength + cardBytes.byteLength + (gaussians?.byteLength ?? 0),
    gaussians,
  };
}
