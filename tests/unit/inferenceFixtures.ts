/** Shared by the inference/parity/registry/evaluate tests: real artifacts exported by the Python trainer. */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const REPO = path.resolve(__dirname, '..', '..');
export const FIXTURES = path.join(REPO, 'tests', 'fixtures', 'parity');
export const SHARED_DATA = path.resolve(REPO, '..', 'shared', 'data');

export function python(args: string[], cwd = REPO): string {
  const env = {
    ...process.env,
    PYTHONPATH: [path.join(REPO, 'trainer'), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
  };
  return execFileSync('python3', args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function tmpDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `ssclnet-${prefix}-`));
}

/** A randomly initialised checkpoint (non-trivial BatchNorm statistics) at the given input size. */
export function randomCheckpoint(dir: string, inputSize: number, seed = 0): string {
  const file = path.join(dir, `random-${inputSize}-${seed}.pt`);
  python([
    '-m',
    'ssclnet.parity',
    'random-checkpoint',
    '--out',
    file,
    '--input-size',
    String(inputSize),
    '--seed',
    String(seed),
  ]);
  return file;
}

export function exportModel(
  checkpoint: string,
  out: string,
  version: string,
  dtype: 'float32' | 'float16' | 'uint8' = 'float32',
  extra: string[] = [],
): string {
  python([
    '-m',
    'ssclnet.cli',
    'export',
    '--checkpoint',
    checkpoint,
    '--out',
    out,
    '--version',
    version,
    '--dtype',
    dtype,
    ...extra,
  ]);
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

/**
 * A feature-gate folder as `ssclnet fit-gate` writes it (gate.json + gaussians.bin), made for a random checkpoint:
 * class means near the encoder features of the export's own synthetic parity inputs 0 and 1, a random symmetric
 * positive definite precision, and a threshold between the inputs' scores, so that some parity inputs are in range
 * and some out. `ssclnet export --gate DIR` then writes a card_format 2 artifact whose parity vectors hold
 * PyTorch's score and calibrated probabilities for each input.
 */
export function syntheticGate(checkpoint: string, dir: string, temperature = 1.7): string {
  const script = String.raw`
import json, sys
from pathlib import Path
import numpy as np, torch
from ssclnet.export import load_checkpoint, build_model
from ssclnet.parity import synthetic_slices
from ssclnet.preprocess import PreprocessSpec, preprocess
from ssclnet import ood
ckpt_path, out, temperature = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
ckpt = load_checkpoint(ckpt_path)
spec = PreprocessSpec.from_dict(ckpt["preprocess"])
model = build_model(ckpt, spec)
x = np.stack([preprocess(a, spec) for a in synthetic_slices()]).astype(np.float32)
with torch.no_grad():
    f = model.encoder(torch.from_numpy(x)).double().numpy()
rng = np.random.default_rng(0)
k, d = len(ckpt["classes"]), f.shape[1]
base = [f[0], f[1], f[0] * 0.5 + f[1] * 0.5, f[1] * 1.1]
means = np.stack([base[c % 4] + rng.normal(0, 0.01, d) for c in range(k)])
a = rng.normal(0, 1, (d, d)) / np.sqrt(d)
precision = a @ a.T + np.eye(d)
g = ood.Gaussians(means, precision)
s = g.as_float32().scores(f)
order = np.sort(s)
threshold = float((order[1] + order[2]) / 2)
out.mkdir(parents=True, exist_ok=True)
g.write(out / "gaussians.bin")
gate = {
  "calibration": {"method": "temperature", "temperature": temperature, "fitted_on": "synthetic (test)", "ece_before": 0.1,
                  "ece_after": 0.02, "bins": 15, "ece_measured_on": "synthetic (test)"},
  "features": {"method": ood.METHOD, "layer": ood.LAYER, "dim": d, "file": ood.FILE, "layout": "le float32",
               "score": ood.SCORE_TEXT, "threshold": threshold, "fitted_on": "synthetic (test)", "shrinkage": 0.0,
               "threshold_set_on": "synthetic (test)", "in_range_rate_val": 0.5, "target_in_range": 0.97, "reference": "test"},
  "summary": {"classes": ckpt["classes"], "test_in_range_rate": 0.5},
}
(out / "gate.json").write_text(json.dumps(gate))
print(json.dumps({"scores": s.tolist(), "threshold": threshold}))
`;
  python(['-c', script, checkpoint, dir, String(temperature)]);
  return dir;
}
