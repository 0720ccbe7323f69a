/**
 * Where artifact files come from. The browser reads over HTTP (`urlSource`); Node can read a directory
 * (`fsSource` in ./node/fsSource, kept out of the browser bundle). A missing file reads as `null`.
 */

export interface ArtifactSource {
  /** Human-readable location, used in error messages. */
  readonly location: string;
  /** Bytes of `path` (relative, '/'-separated), or null when absent. `fresh` bypasses HTTP caches. */
  read(path: string, options?: { fresh?: boolean }): Promise<Uint8Array | null>;
  /** The source rooted at a sub-folder. */
  sub(path: string): ArtifactSource;
}

export type FetchLike = (
  url: string,
  init?: { cache?: 'no-cache' | 'default' },
) => Promise<{
  ok: boolean;
  status: number;
  statusText?: string;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + '/' + path.replace(/^\/+/, '');
}

export function urlSource(base: string, fetchImpl?: FetchLike): ArtifactSource {
  const doFetch: FetchLike = fetchImpl ?? ((url, init) => globalThis.fetch(url, init));
  return {
    location: base,
    async read(path, options) {
      const url = joinUrl(base, path);
      const res = await doFetch(url, { cache: options?.fresh ? 'no-cache' : 'default' });
      if (res.status === 404) return null;
      if (!res.ok) throw new Error(`GET ${url} failed: HTTP ${res.status} ${res.statusText ?? ''}`.trim());
      return new Uint8Array(await res.arrayBuffer());
    },
    sub(path) {
      return urlSource(joinUrl(base, path), doFetch);
    },
  };
}
