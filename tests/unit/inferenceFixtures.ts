/** Shared by the inference/parity/registry/evaluate tests: real artifacts exported by the Python trainer. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'parity');
export const SHARED_DATA = path.resolve(REPO, '..', 'shared', 'data');

export function python(args: string[], cwd = REPO): string {
  const env = { ...process.env, PYTHONPATH: [path.join(REPO, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter) };
  return execFileSync('python3', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ssclnet-${prefix}-`));
}

/** A randomly initialised checkpoint (non-trivial BatchNorm statistics) at the given input size. */
export function randomCheckpoint(dir: string, inputSize: number, seed = 0): string {
  const file = path.join(dir, `random-${inputSize}-${seed}.pt`);
  python(['-m', 'ssclnet.parity', 'random-checkpoint', '--out', file, '--input-size', String(inputSize), '--seed', String(seed)]);
  return file;
}

export function exportModel(checkpoint: string, out: string, version: string, dtype: 'float32' | 'float16' = 'float32', extra: string[] = []): string {
  python(['-m', 'ssclnet.cli', 'export', '--checkpoint', checkpoint, '--out', out, '--version', version, '--dtype', dtype, ...extra]);
  return out;
}

export function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
}

export function readFloat32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function readFloat64(file: string): Float64Array {
  const b = fs.readFileSync(file);
  return new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
