/**
 * The engine's model cache (issue 16): model files in Cache Storage keyed by SHA-256, learned from models.json and the
 * verified card; a second load reads no model bytes from the network; a corrupted download is never cached; a
 * new version's load drops the old entries. Cache Storage is faked with an in-memory map (Node has none).
 */
import { createHash } from 'node:crypto';

import { cachingSource, keepOnly, MODEL_CACHE_NAME, newCacheStats } from '../../extension/src/engine/modelCache';
import type { ArtifactSource } from '../../extension/src/inference/source';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A registry with `versions`, each with model.json and one shard; returns its files and a read log. */
function registry(versions: string[]): { files: Map<string, Uint8Array>; reads: string[]; source: ArtifactSource } {
  const files = new Map<string, Uint8Array>();
  const index = { latest: versions[versions.length - 1], versions: [] as object[] };
  for (const v of versions) {
    const modelJson = enc(JSON.stringify({ v, modelTopology: {}, weightsManifest: [] }));
    const shard = new Uint8Array(1000).map((_, i) => (i * 7 + v.length) & 255);
    shard[0] = v.charCodeAt(v.length - 1);
    files.set(`${v}/model.json`, modelJson);
    files.set(`${v}/group1-shard1of1.bin`, shard);
    const card = enc(
      JSON.stringify({ version: v, files: { 'model.json': sha(modelJson), 'group1-shard1of1.bin': sha(shard) } }),
    );
    files.set(`${v}/model-card.json`, card);
    index.versions.push({ version: v, path: v, card_sha256: sha(card) });
  }
  files.set('models.json', enc(JSON.stringify(index)));
  const reads: string[] = [];
  const make = (prefix: string): ArtifactSource => ({
    location: prefix || '/',
    async read(path) {
      const full = prefix ? `${prefix}/${path}` : path;
      reads.push(full);
      return files.get(full) ?? null;
    },
    sub: (p) => make(prefix ? `${prefix}/${p}` : p),
  });
  return { files, reads, source: make('') };
}

/** In-memory CacheStorage with the calls the wrapper makes. */
function fakeCaches() {
  const store = new Map<string, Uint8Array>();
  const cache = {
    async match(url: string) {
      const b = store.get(url);
      return b ? { arrayBuffer: async () => b.slice().buffer } : undefined;
    },
    async put(url: string, response: Response) {
      store.set(url, new Uint8Array(await response.arrayBuffer()));
    },
    async keys() {
      return [...store.keys()].map((url) => ({ url }));
    },
    async delete(req: { url: string }) {
      return store.delete(req.url);
    },
  };
  const names: string[] = [];
  return { store, names, storage: { open: async (name: string) => (names.push(name), cache as unknown as Cache) } };
}

async function readVersion(src: ArtifactSource, v: string): Promise<void> {
  await src.read('models.json', { fresh: true });
  const dir = src.sub(v);
  for (const f of ['model-card.json', 'model.json', 'group1-shard1of1.bin']) expect(await dir.read(f)).not.toBeNull();
}

test('second load reads every model file from the cache (models.json still from the registry), same bytes', async () => {
  const reg = registry(['v1']);
  const { storage, store, names } = fakeCaches();
  const first = newCacheStats();
  await readVersion(cachingSource(reg.source, first, storage), 'v1');
  expect(names[0]).toBe(MODEL_CACHE_NAME);
  expect(store.size).toBe(3); // card, model.json, shard: keyed by their SHA-256
  for (const key of store.keys()) expect(key).toMatch(/\/ssclnet-model-cache\/sha256\/[0-9a-f]{64}$/);
  expect(first.fetchedFiles).toBe(3);
  expect(first.cachedFiles).toBe(0);

  reg.reads.length = 0;
  const second = newCacheStats();
  const src = cachingSource(reg.source, second, storage);
  await src.read('models.json', { fresh: true });
  const shard = await src
    .sub('v1')
    .read('model-card.json')
    .then(() => src.sub('v1').read('group1-shard1of1.bin'));
  expect(shard).toEqual(reg.files.get('v1/group1-shard1of1.bin'));
  expect(reg.reads).toEqual(['models.json']);
  expect(second.fetchedBytes).toBe(0);
  expect(second.cachedFiles).toBe(2);
});

test('a corrupted download is not cached; without Cache Storage the source reads straight through', async () => {
  const reg = registry(['v1']);
  reg.files.set('v1/group1-shard1of1.bin', new Uint8Array(1000)); // not what the card says
  const { storage, store } = fakeCaches();
  await readVersion(cachingSource(reg.source, newCacheStats(), storage), 'v1');
  expect(store.size).toBe(2); // card and model.json only
  expect(cachingSource(reg.source, newCacheStats(), null)).toBe(reg.source);
});

test('loading a new version and keeping only its hashes drops the old version from the cache', async () => {
  const reg = registry(['v1', 'v2']);
  const { storage, store } = fakeCaches();
  await readVersion(cachingSource(reg.source, newCacheStats(), storage), 'v1');
  const stats = newCacheStats();
  await readVersion(cachingSource(reg.source, stats, storage), 'v2');
  expect(store.size).toBe(6);
  expect(await keepOnly(stats.hashes, storage)).toBe(3);
  expect(store.size).toBe(3);
  const v2Hashes = ['model-card.json', 'model.json', 'group1-shard1of1.bin'].map((f) => sha(reg.files.get(`v2/${f}`)!));
  expect([...store.keys()].map((k) => k.slice(-64)).sort()).toEqual(v2Hashes.sort());
});

test('a damaged cache entry is dropped and the file read again from the registry', async () => {
  const reg = registry(['v1']);
  const { storage, store } = fakeCaches();
  await readVersion(cachingSource(reg.source, newCacheStats(), storage), 'v1');
  const shardKey = [...store.keys()].find((k) => k.endsWith(sha(reg.files.get('v1/group1-shard1of1.bin')!)))!;
  store.set(shardKey, new Uint8Array(10));
  reg.reads.length = 0;
  const stats = newCacheStats();
  await readVersion(cachingSource(reg.source, stats, storage), 'v1');
  expect(reg.reads).toEqual(['models.json', 'v1/group1-shard1of1.bin']);
  expect(store.get(shardKey)).toEqual(reg.files.get('v1/group1-shard1of1.bin'));
  expect(stats.fetchedFiles).toBe(1);
});
