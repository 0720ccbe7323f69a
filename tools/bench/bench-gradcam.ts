/**
 * Benchmark (prints numbers; not a test): Grad-CAM time per slice next to the forward pass, same run, same slices.
 *   npx ts-node -P tools/evaluator/tsconfig.json tools/bench/bench-gradcam.ts [--model models] [--runs 20]
 *        [--backend wasm|cpu] [--layer layer3|layer4] [--method gradcam|gradcam++]
 * Inputs: the model's own parity inputs (preprocessed real slices), one slice per call, as the viewer does.
 * forward = `forward(loaded, slice, 1)`, the classification's one pass (features, logits, probabilities);
 * gradcam = `gradcam(loaded, slice)`: its own forward to the target layer, the rest replayed under tf.grad, the
 * backward pass to the target activation, the map, bilinear upsampling and normalisation, read back.
 * Calls alternate (forward, gradcam, forward, ...) so both see the same machine load. Preprocessing is excluded
 * from both (the viewer preprocesses once per slice for either).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import * as tf from '@tensorflow/tfjs';

import { forward, loadModel } from '../../extension/src/inference/classifier';
import { gradcam, type CamMethod } from '../../extension/src/inference/gradcam';
import { fsSource } from '../../extension/src/inference/node/fsSource';

const USAGE =
  'usage: npx ts-node -P tools/evaluator/tsconfig.json tools/bench/bench-gradcam.ts [--model <registry|model dir>] [--runs 20] [--backend wasm|cpu] [--layer layer3] [--method gradcam]';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const now = (): number => performance.now();

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      runs: { type: 'string' },
      backend: { type: 'string' },
      layer: { type: 'string' },
      method: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const root = path.resolve(values.model ?? path.join(__dirname, '..', '..', 'models'));
  const runs = Number(values.runs ?? 20);
  const backend = (values.backend ?? 'wasm') as 'wasm' | 'cpu';
  const layer = values.layer ?? 'layer3';
  const method = (values.method ?? 'gradcam') as CamMethod;
  const loaded = await loadModel({ source: fsSource(root), backend });
  const dir = fs.existsSync(path.join(root, 'models.json')) ? path.join(root, loaded.version) : root;
  const b = fs.readFileSync(path.join(dir, 'parity', 'inputs.bin'));
  const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const { input_size: s, channels: c } = loaded.card.preprocess;
  const per = s * s * c;
  const n = all.length / per;
  const slice = (i: number): Float32Array => all.slice((i % n) * per, ((i % n) + 1) * per);
  // Warm-up: kernels, the Grad-CAM plan (sub-model), wasm memory growth.
  for (let i = 0; i < 2; i++) {
    await forward(loaded, slice(i), 1);
    await gradcam(loaded, slice(i), undefined, { layer, method });
  }
  const tensors = tf.memory().numTensors;
  const fwd: number[] = [];
  const cam: number[] = [];
  for (let r = 0; r < runs; r++) {
    const x = slice(r);
    let t = now();
    await forward(loaded, x, 1);
    fwd.push(now() - t);
    t = now();
    await gradcam(loaded, x, undefined, { layer, method });
    cam.push(now() - t);
  }
  const leaked = tf.memory().numTensors - tensors;
  const mf = median(fwd);
  const mc = median(cam);
  console.log(
    `model: ${loaded.version} ${loaded.card.dtype} input ${s}x${s}x${c} backend ${loaded.backend} (${tf.getBackend()})`,
  );
  console.log(`slices: ${runs} calls each over ${n} parity inputs, alternating; target ${layer} ${method}`);
  console.log(
    `forward_ms (median): ${mf.toFixed(1)}   [min ${Math.min(...fwd).toFixed(1)}, max ${Math.max(...fwd).toFixed(1)}]`,
  );
  console.log(
    `gradcam_ms (median): ${mc.toFixed(1)}   [min ${Math.min(...cam).toFixed(1)}, max ${Math.max(...cam).toFixed(1)}]`,
  );
  const pairs = median(cam.map((v, i) => v / fwd[i]));
  console.log(
    `gradcam / forward: ${(mc / mf).toFixed(2)}x of the medians, ${pairs.toFixed(2)}x median of the per-slice pairs (target <= 2x)   leaked tensors: ${leaked}`,
  );
  loaded.model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
