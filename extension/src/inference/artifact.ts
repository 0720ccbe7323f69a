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
  /** Total bytes read and verified (card, model.json, shards). */
  bytes: number;
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
async function resolveCard(source: ArtifactSource, version?: string): Promise<{ dir: ArtifactSource; cardBytes: Uint8Array }> {
  const indexBytes = await source.read(REGISTRY_INDEX, { fresh: true });
  if (!indexBytes) {
    if (version) throw new Error(`${source.location}: no ${REGISTRY_INDEX}, so version ${version} can't be chosen`);
    const cardBytes = await source.read(CARD_NAME, { fresh: true });
    if (!cardBytes) throw new Error(`${source.location}: neither ${REGISTRY_INDEX} (registry) nor ${CARD_NAME} (model folder)`);
    return { dir: source, cardBytes };
  }
  const index = parseJson<RegistryIndex>(indexBytes, `${source.location}/${REGISTRY_INDEX}`);
  const wanted = version ?? index.latest;
  const entry = (index.versions ?? []).find((v) => v.version === wanted);
  if (!entry) throw new Error(`${source.location}: version ${wanted} is not in ${REGISTRY_INDEX}`);
  const dir = source.sub(entry.path ?? entry.version);
  // Version folders are immutable, so the card may come from cache; its hash is checked anyway.
  const cardBytes = await mustRead(dir, CARD_NAME);
  const actual = await sha256Hex(cardBytes);
  if (actual !== entry.card_sha256) throw new IntegrityError(`${entry.version}/${CARD_NAME}`, entry.card_sha256, actual);
  return { dir, cardBytes };
}

function checkCard(card: ModelCard, where: string): void {
  const missing = ['version', 'classes', 'preprocess', 'files'].filter((k) => card[k] === undefined);
  if (missing.length) throw new Error(`${where}: model card lacks ${missing.join(', ')}`);
  if (!Array.isArray(card.classes) || card.classes.length < 2) throw new Error(`${where}: model card needs 2+ classes`);
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
      const bytes = await mustRead(dir, p);
      await verifyBytes(p, bytes, card.files[p]);
      shards.push(bytes);
    }
    weightSpecs.push(...group.weights);
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
    bytes: total + modelBytes.byteLength + cardBytes.byteLength,
  };
}
