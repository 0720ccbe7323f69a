/**
 * Benchmark (prints numbers; not a test): model load time in Node and single-slice latency.
 *   npx ts-node -P tools/evaluator/tsconfig.json tools/evaluator/benchmark-load.ts --model <dir|URL> [--runs 5] [--backend wasm|cpu]
 * Load = read + SHA-256 verify + build + one warm-up inference. Each run disposes its model before the next.
 */
import { parseArgs } from 'node:util';

import { classify } from '../../extension/src/inference/classifier';
import { openModel } from './cli';

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      runs: { type: 'string' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: npx ts-node -P tools/evaluator/tsconfig.json tools/evaluator/benchmark-load.ts --model <dir|URL> [--runs 5] [--backend wasm|cpu]',
    );
    return;
  }
  if (!values.model) throw new Error('--model is required');
  const runs = Number(values.runs ?? 5);
  const loads: number[] = [];
  const latencies: number[] = [];
  let info = '';
  for (let r = 0; r < runs; r++) {
    const loaded = await openModel(values.model, undefined, (values.backend as 'wasm' | 'cpu') ?? 'wasm');
    loads.push(loaded.loadMs);
    info = `${loaded.version} ${loaded.card.dtype} input ${loaded.card.preprocess.input_size} backend ${loaded.backend} ${(loaded.bytes / 1e6).toFixed(1)} MB`;
    const size = 256;
    const slice = {
      data: Uint8Array.from({ length: size * size }, (_, i) => (i * 31) % 251),
      width: size,
      height: size,
    };
    for (let i = 0; i < 5; i++) latencies.push((await classify(loaded, slice)).ms);
    loaded.model.dispose();
  }
  console.log(`model: ${info}`);
  console.log(
    `load_ms: ${loads.map((x) => x.toFixed(0)).join(' ')} (median ${median(loads).toFixed(0)}; first includes backend start)`,
  );
  console.log(`classify_ms (256x256 slice, median of ${latencies.length}): ${median(latencies).toFixed(1)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
