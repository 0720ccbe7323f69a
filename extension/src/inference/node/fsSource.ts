/** Node only: an artifact source reading a local directory (registry or model folder). */
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';

import type { ArtifactSource } from '../source';

export function fsSource(dir: string): ArtifactSource {
  const root = path.resolve(dir);
  return {
    location: root,
    async read(rel) {
      const target = path.resolve(root, rel);
      if (target !== root && !target.startsWith(root + path.sep)) throw new Error(`${rel}: path escapes ${root}`);
      try {
        const buf = await readFile(target);
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    },
    sub(rel) {
      const target = path.resolve(root, rel);
      if (target !== root && !target.startsWith(root + path.sep)) throw new Error(`${rel}: path escapes ${root}`);
      return fsSource(target);
    },
  };
}
