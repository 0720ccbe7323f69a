/**
 * Model files in Cache Storage, keyed by their SHA-256 (issue 16): a second page load reads the model from the
 * cache instead of the network, and still verifies every byte (the inference module checks each file against
 * the card and the card against models.json, wherever the bytes came from).
 *
 * `cachingSource(base)` wraps the registry's ArtifactSource. It learns the expected hashes as the artifact loader
 * reads in its fixed order: models.json (each version's card_sha256), then a version's model-card.json (its
 * `files` map), then model.json, the shards and the feature-gate file. A file with a known hash is answered from
 * the cache when its bytes still hash to that value (a damaged entry is dropped and refetched); otherwise it is
 * read from `base` and stored only if its bytes hash to the expected value (a corrupted download is never cached). models.json itself is never cached (the model service revalidates it
 * on every check). After a model is loaded, `keepOnly(hashes)` drops every other entry: a new registry version
 * replaces the old one. Without Cache Storage (Node, insecure contexts) the wrapper reads straight through.
 */
import { REGISTRY_INDEX, CARD_NAME } from '../inference/artifact';
import { sha256Hex } from '../inference/sha256';
import type { ArtifactSource } from '../inference/source';

export const MODEL_CACHE_NAME = 'ssclnet-models-v1';
const KEY_PATH = '/ssclnet-model-cache/sha256/';

/** Bytes of model files this load read from the network and from Cache Storage. */
export interface CacheStats {
  fetchedBytes: number;
  cachedBytes: number;
  fetchedFiles: number;
  cachedFiles: number;
  /** SHA-256 of every file read through the wrapper (what `keepOnly` keeps after a load). */
  hashes: Set<string>;
}

export function newCacheStats(): CacheStats {
  return { fetchedBytes: 0, cachedBytes: 0, fetchedFiles: 0, cachedFiles: 0, hashes: new Set() };
}

type CacheStorageLike = Pick<CacheStorage, 'open'>;

function cacheStorage(): CacheStorageLike | null {
  const c = (globalThis as { caches?: CacheStorageLike }).caches;
  return c && typeof c.open === 'function' ? c : null;
}

function keyOf(sha: string): string {
  const origin = (globalThis as { location?: { origin?: string } }).location?.origin;
  const base = origin && /^https?:/.test(origin) ? origin : 'http://localhost';
  return base + KEY_PATH + sha.toLowerCase();
}

const HEX64 = /^[0-9a-f]{64}$/i;
const decoder = new TextDecoder();

function join(prefix: string, path: string): string {
  return prefix ? `${prefix}/${path}` : path;
}

/** `base` with Cache Storage in front of every file whose SHA-256 is known from models.json or the card. */
export function cachingSource(
  base: ArtifactSource,
  stats: CacheStats = newCacheStats(),
  storage: CacheStorageLike | null = cacheStorage(),
): ArtifactSource {
  if (!storage) return base;
  const expected = new Map<string, string>(); // path from the registry root -> sha256
  let cache: Promise<Cache | null> | null = null;
  const open = (): Promise<Cache | null> => (cache ??= storage.open(MODEL_CACHE_NAME).catch(() => null));

  const learn = (path: string, bytes: Uint8Array, prefix: string): void => {
    try {
      if (path === REGISTRY_INDEX && !prefix) {
        const index = JSON.parse(decoder.decode(bytes)) as {
          versions?: { version?: string; path?: string; card_sha256?: string }[];
        };
        for (const v of index.versions ?? []) {
          const folder = v.path ?? v.version;
          if (typeof folder === 'string' && typeof v.card_sha256 === 'string' && HEX64.test(v.card_sha256))
            expected.set(`${folder}/${CARD_NAME}`, v.card_sha256.toLowerCase());
        }
      } else if (path === CARD_NAME && expected.has(join(prefix, CARD_NAME))) {
        // Only a card whose hash matched models.json teaches file hashes (read() checked it before we get here).
        const card = JSON.parse(decoder.decode(bytes)) as { files?: Record<string, unknown> };
        for (const [file, sha] of Object.entries(card.files ?? {})) {
          if (typeof sha === 'string' && HEX64.test(sha)) expected.set(join(prefix, file), sha.toLowerCase());
        }
      }
    } catch {
      /* not JSON: the artifact loader reports it */
    }
  };

  const make = (src: ArtifactSource, prefix: string): ArtifactSource => ({
    location: src.location,
    async read(path, options) {
      const full = join(prefix, path);
      const sha = expected.get(full);
      if (!sha) {
        const bytes = await src.read(path, options);
        if (bytes && !(path === REGISTRY_INDEX && !prefix)) {
          stats.fetchedBytes += bytes.byteLength;
          stats.fetchedFiles += 1;
        }
        if (bytes) learn(path, bytes, prefix);
        return bytes;
      }
      stats.hashes.add(sha);
      const c = await open();
      const hit = c ? await c.match(keyOf(sha)).catch(() => undefined) : undefined;
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        // A damaged entry (disk, extensions, a bug) is dropped and the file read again from the registry, so a bad
        // cache can never keep a good model from loading. The artifact loader verifies whatever is returned anyway.
        if ((await sha256Hex(bytes)) === sha) {
          stats.cachedBytes += bytes.byteLength;
          stats.cachedFiles += 1;
          learn(path, bytes, prefix);
          return bytes;
        }
        await c!.delete(keyOf(sha)).catch(() => false);
      }
      const bytes = await src.read(path, options);
      if (!bytes) return null;
      stats.fetchedBytes += bytes.byteLength;
      stats.fetchedFiles += 1;
      if (c && (await sha256Hex(bytes)) === sha) {
        await c
          .put(
            keyOf(sha),
            new Response(bytes as unknown as BodyInit, {
              headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) },
            }),
          )
          .catch(() => undefined); // quota or private mode: the model still loads, uncached
        learn(path, bytes, prefix);
      }
      return bytes;
    },
    sub(path) {
      return make(src.sub(path), join(prefix, path));
    },
  });
  return make(base, '');
}

/** Drops every cached model file whose hash is not in `hashes` (after a load: the previous version goes). */
export async function keepOnly(
  hashes: Set<string>,
  storage: CacheStorageLike | null = cacheStorage(),
): Promise<number> {
  if (!storage || hashes.size === 0) return 0;
  try {
    const cache = await storage.open(MODEL_CACHE_NAME);
    const keep = new Set([...hashes].map(keyOf));
    let dropped = 0;
    for (const request of await cache.keys()) {
      if (!keep.has(request.url) && (await cache.delete(request))) dropped += 1;
    }
    return dropped;
  } catch {
    return 0;
  }
}
