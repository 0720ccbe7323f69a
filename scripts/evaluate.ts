/**
 * Node evaluator: the gate an admin runs before publishing a model.
 *
 *   npm run evaluate -- --model <registry URL | registry dir | model dir> --data <class-subfolder dir | manifest.csv>
 *                       [--split NAME] [--json FILE] [--limit N] [--version V] [--backend wasm|cpu] [--batch N]
 *
 * Loads and verifies the model through the viewer's own inference module (tfjs wasm backend), reads JPEG/PNG
 * (pure-JS decoders) and DICOM (dicom-parser), and prints a report whose format is stable (see formatReport).
 * Exit status: 0 done; 1 bad arguments; 2 model can't be loaded or verified; 3 no usable image.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

import { predictBatch, type LoadedModel } from '../extension/src/inference/classifier';
import { loadModelFrom } from '../extension/src/inference/node';
import { preprocess } from '../extension/src/inference/preprocess';
import { limitSamples, listSamples, readSlices, type Sample } from './evaluate/data';
import { confusionMatrix, metricsFromConfusion, type Metrics } from './evaluate/metrics';

export const EXIT = { ok: 0, usage: 1, model: 2, data: 3 } as const;
export const REPORT_FORMAT = 1;

export interface EvaluationReport extends Metrics {
  report_format: number;
  model: { version: string; location: string; backend: string; load_ms: number };
  data: { source: string; split: string | null; files: number; slices: number };
  unreadable: { file: string; reason: string }[];
  images_per_second: number;
  /** One entry per slice evaluated (JSON output only). */
  predictions: { file: string; frame: number; label: string; predicted: string; probabilities: number[] }[];
}

const USAGE =
  'usage: npm run evaluate -- --model <registry URL|dir|model dir> --data <class dir|manifest.csv> ' +
  '[--split NAME] [--json FILE] [--limit N] [--version V] [--backend wasm|cpu|webgl] [--batch N]';

function resolveArg(p: string): string {
  // npm runs scripts from the package root; resolve relative paths against where the admin typed the command.
  return path.resolve(process.env.INIT_CWD ?? process.cwd(), p);
}

export async function openModel(model: string, version?: string, backend?: 'wasm' | 'cpu' | 'webgl'): Promise<LoadedModel> {
  const location = /^https?:\/\//i.test(model) ? model : resolveArg(model);
  return loadModelFrom(location, { version, backend: backend ?? 'wasm' });
}

export async function evaluate(
  loaded: LoadedModel,
  samples: Sample[],
  options: { batch?: number; source?: string; split?: string } = {},
): Promise<EvaluationReport> {
  const classes = loaded.card.classes;
  const spec = loaded.card.preprocess;
  const per = spec.input_size * spec.input_size * spec.channels;
  const batchSize = Math.max(1, options.batch ?? 8);
  const unreadable: EvaluationReport['unreadable'] = [];
  const truth: number[] = [];
  const predicted: number[] = [];
  const predictions: EvaluationReport['predictions'] = [];
  let pending: { input: Float32Array; label: number; file: string; frame: number }[] = [];
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const input = new Float32Array(per * pending.length);
    pending.forEach((p, i) => input.set(p.input, i * per));
    const probs = await predictBatch(loaded, input, pending.length);
    probs.forEach((p, i) => {
      const top = p.indexOf(Math.max(...p));
      truth.push(pending[i].label);
      predicted.push(top);
      const { file, frame, label } = pending[i];
      predictions.push({ file, frame, label: classes[label], predicted: classes[top], probabilities: p });
    });
    pending = [];
  };
  const t0 = performance.now();
  for (const sample of samples) {
    const label = classes.indexOf(sample.label);
    if (label < 0) {
      unreadable.push({ file: sample.file, reason: `label ${sample.label} is not one of the model's classes (${classes.join(', ')})` });
      continue;
    }
    try {
      const inputs = readSlices(sample.file).map((slice) => preprocess(slice, spec)); // all frames or none
      for (let frame = 0; frame < inputs.length; frame++) {
        pending.push({ input: inputs[frame], label, file: sample.file, frame });
        if (pending.length >= batchSize) await flush();
      }
    } catch (e) {
      unreadable.push({ file: sample.file, reason: (e as Error).message });
    }
  }
  await flush();
  const seconds = (performance.now() - t0) / 1000;
  const metrics = metricsFromConfusion(classes, confusionMatrix(classes, truth, predicted));
  return {
    report_format: REPORT_FORMAT,
    model: { version: loaded.version, location: loaded.location, backend: loaded.backend, load_ms: Math.round(loaded.loadMs) },
    data: { source: options.source ?? '', split: options.split ?? null, files: samples.length, slices: truth.length },
    unreadable,
    images_per_second: seconds > 0 ? truth.length / seconds : 0,
    ...metrics,
    predictions,
  };
}

const f4 = (x: number): string => x.toFixed(4);

/** The printed report. Its lines and their order are a stable format: scripts may parse them. */
export function formatReport(r: EvaluationReport): string {
  const w = Math.max(12, ...r.classes.map((c) => c.length + 2));
  const lines = [
    `model: ${r.model.version} (${r.model.location}) backend: ${r.model.backend} load_ms: ${r.model.load_ms}`,
    `data: ${r.data.source} split: ${r.data.split ?? '-'} files: ${r.data.files} slices: ${r.data.slices} unreadable: ${r.unreadable.length}`,
    `accuracy: ${f4(r.accuracy)}`,
    `macro_f1: ${f4(r.macro_f1)}`,
    'per_class:',
    `  ${'class'.padEnd(w)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1'.padStart(10)}${'support'.padStart(10)}`,
    ...r.per_class.map(
      (c) => `  ${c.label.padEnd(w)}${f4(c.precision).padStart(10)}${f4(c.recall).padStart(10)}${f4(c.f1).padStart(10)}${String(c.support).padStart(10)}`,
    ),
    'confusion (rows = true, columns = predicted):',
    `  ${''.padEnd(w)}${r.classes.map((c) => c.padStart(w)).join('')}`,
    ...r.confusion.map((row, k) => `  ${r.classes[k].padEnd(w)}${row.map((v) => String(v).padStart(w)).join('')}`),
    `images_per_second: ${r.images_per_second.toFixed(2)}`,
  ];
  return lines.join('\n');
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

export async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        model: { type: 'string' },
        data: { type: 'string' },
        split: { type: 'string' },
        json: { type: 'string' },
        limit: { type: 'string' },
        version: { type: 'string' },
        backend: { type: 'string' },
        batch: { type: 'string' },
      },
    }));
  } catch (e) {
    console.error(`evaluate: ${(e as Error).message}\n${USAGE}`);
    return EXIT.usage;
  }
  const limit = values.limit ? Number(values.limit) : undefined;
  const batch = values.batch ? Number(values.batch) : undefined;
  const backend = values.backend as 'wasm' | 'cpu' | 'webgl' | undefined;
  if (!values.model || !values.data || (limit !== undefined && !(limit > 0)) || (batch !== undefined && !(batch > 0)) ||
      (backend && !['wasm', 'cpu', 'webgl'].includes(backend))) {
    console.error(USAGE);
    return EXIT.usage;
  }
  let samples: Sample[];
  try {
    samples = limitSamples(listSamples(resolveArg(values.data), values.split), limit);
  } catch (e) {
    console.error(`evaluate: ${(e as Error).message}`);
    return EXIT.data;
  }
  let loaded: LoadedModel;
  try {
    loaded = await openModel(values.model, values.version, backend);
  } catch (e) {
    console.error(`evaluate: model not loaded: ${(e as Error).message}`);
    return EXIT.model;
  }
  const report = await evaluate(loaded, samples, { batch, source: values.data, split: values.split });
  for (const u of report.unreadable) console.error(`unreadable: ${u.file}: ${u.reason}`);
  console.log(formatReport(report));
  if (values.json) writeJsonAtomic(resolveArg(values.json), report);
  if (!report.data.slices) {
    console.error(`evaluate: no usable image among ${samples.length} files`);
    return EXIT.data;
  }
  return EXIT.ok;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`evaluate: ${(e as Error).stack ?? e}`);
      process.exit(EXIT.usage);
    },
  );
}
