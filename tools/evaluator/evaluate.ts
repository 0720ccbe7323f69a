/**
 * Node evaluator: the gate an admin runs before publishing a model.
 *
 *   npm run evaluate -- --model <registry URL | registry dir | model dir> --data <class-subfolder dir | manifest.csv>
 *                       [--split NAME[,NAME]] [--json FILE] [--limit N] [--version V] [--backend wasm|cpu|webgl]
 *                       [--batch N] [--max-unreadable N|P%]
 *
 * Loads and verifies the model through the viewer's own inference module (tfjs wasm backend), reads JPEG/PNG
 * (pure-JS decoders) and DICOM (the module's reader, every supported transfer syntax), runs the viewer's own path
 * (metadata gate for DICOM, preprocessing, one forward pass, calibration, feature gate) and prints a report whose
 * format is stable (see formatReport).
 * Accuracy, macro-F1 and the confusion matrix count the model's own answer on every slice that reached the model
 * (declined ones too, so that a gate can't buy accuracy); the `in_range` lines say what the gates declined and the
 * recall on what they kept.
 * Exit status: 0 done; 1 bad arguments; 2 model can't be loaded or verified; 3 no usable image, or more unreadable
 * files (and unknown labels) than --max-unreadable allows (default 0).
 */
import { checkMetadata, classifyBatch, type LoadedModel } from '../../extension/src/inference/classifier';
import { preprocess } from '../../extension/src/inference/preprocess';
import { shortReason } from '../../extension/src/inference/seriesSummary';
import type { Classification } from '../../extension/src/inference/types';
import {
  checkChoice,
  checkOutputFile,
  checkPositiveInteger,
  MODEL_DATA_OPTIONS,
  openModel,
  openModelOrReport,
  parseCommandLine,
  reportBadArguments,
  resolveArg,
  writeJsonAtomic,
  type Backend,
} from './cli';
import { limitSamples, listSamples, readSlices, type Sample } from './data';
import { confusionMatrix, metricsFromConfusion, type Metrics } from './metrics';

export const EXIT = { ok: 0, usage: 1, model: 2, data: 3 } as const;
/** 2: `unreadable_count`, `absent_classes`, `in_range`; macro-F1 over the classes present. */
export const REPORT_FORMAT = 2;

export interface EvaluationReport extends Metrics {
  report_format: number;
  model: {
    version: string;
    location: string;
    backend: string;
    load_ms: number;
    card_format: number;
    calibrated: boolean;
    feature_gate: boolean;
  };
  data: { source: string; split: string | null; files: number; slices: number };
  unreadable: { file: string; reason: string }[];
  unreadable_count: number;
  /** What the gates did: counted over every slice read (declined by metadata ones never reached the model). */
  in_range: {
    slices: number;
    in_range: number;
    declined: number;
    rate: number;
    declined_by_reason: Record<string, number>;
    /** Per class (card order): recall over the in-range slices of that class; null when it has none. */
    recall_in_range: (number | null)[];
    accuracy_in_range: number | null;
  };
  images_per_second: number;
  /** One entry per slice (JSON output only). `predicted` is the model's own answer; null when declined by metadata. */
  predictions: {
    file: string;
    frame: number;
    label: string;
    predicted: string | null;
    probabilities: number[];
    out_of_range: Classification['outOfRange'];
    score?: number;
  }[];
}

export const USAGE = `usage: npm run evaluate -- --model <registry URL|dir|model dir> --data <class dir|manifest.csv> [options]

  --model M             a registry (models.json) or model folder (model-card.json), a path or an http(s) URL
  --data D              a folder with one subfolder per class, or a CSV with file,label[,split] (files relative to it)
  --split NAME[,NAME]   rows of these splits only (CSV); names match exactly, an unknown one is an error
  --json FILE           also write the whole report, with every slice's prediction (its folder must exist)
  --limit N             at most N samples, round-robin over classes
  --version V           a registry version instead of latest
  --backend B           wasm (default), cpu or webgl
  --batch N             slices per forward pass (default 8)
  --max-unreadable N    fail (exit 3) when more than N files are unreadable or have an unknown label;
                        N is a count or a percentage of the files, e.g. 2% (default 0)
  -h, --help            this text

exit status: 0 done; 1 bad arguments; 2 the model can't be loaded or fails verification;
             3 no usable image, or more unreadable files than --max-unreadable`;

// openModel lives with the commands' shared options (./cli); re-exported for the evaluator's existing callers.
export { openModel };

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
  const declinedByReason: Record<string, number> = {};
  const inRangeTotal = classes.map(() => 0);
  const inRangeCorrect = classes.map(() => 0);
  let slices = 0;
  let declined = 0;
  const decline = (reason: string): void => {
    declined++;
    const k = shortReason(reason);
    declinedByReason[k] = (declinedByReason[k] ?? 0) + 1;
  };
  let pending: { input: Float32Array; label: number; file: string; frame: number }[] = [];
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const input = new Float32Array(per * pending.length);
    pending.forEach((p, i) => input.set(p.input, i * per));
    const results = await classifyBatch(loaded, input, pending.length);
    results.forEach((r, i) => {
      const { file, frame, label } = pending[i];
      const top = (r.modelTop ?? r.top).index;
      truth.push(label);
      predicted.push(top);
      if (r.outOfRange) decline(r.outOfRange.reason);
      else {
        inRangeTotal[label]++;
        if (top === label) inRangeCorrect[label]++;
      }
      predictions.push({
        file,
        frame,
        label: classes[label],
        predicted: classes[top],
        probabilities: r.probabilities,
        out_of_range: r.outOfRange,
        ...(r.score !== undefined ? { score: r.score } : {}),
      });
    });
    pending = [];
  };
  const t0 = performance.now();
  for (const sample of samples) {
    const label = classes.indexOf(sample.label);
    if (label < 0) {
      unreadable.push({
        file: sample.file,
        reason: `label ${sample.label} is not one of the model's classes (${classes.join(', ')})`,
      });
      continue;
    }
    let inputs: { input: Float32Array | null; frame: number; reason?: string }[];
    try {
      // All frames or none: a file that fails halfway counts as unreadable, not as a few slices.
      inputs = (await readSlices(sample.file)).map((slice, frame) => {
        const out = slice.attributes ? checkMetadata(loaded, slice.attributes) : null;
        return out ? { input: null, frame, reason: out.reason } : { input: preprocess(slice, spec), frame };
      });
    } catch (e) {
      unreadable.push({ file: sample.file, reason: (e as Error).message });
      continue;
    }
    for (const { input, frame, reason } of inputs) {
      slices++;
      if (!input) {
        decline(reason!);
        predictions.push({
          file: sample.file,
          frame,
          label: sample.label,
          predicted: null,
          probabilities: [],
          out_of_range: { stage: 'metadata', reason: reason! },
        });
        continue;
      }
      pending.push({ input, label, file: sample.file, frame });
      if (pending.length >= batchSize) await flush();
    }
  }
  await flush();
  const seconds = (performance.now() - t0) / 1000;
  const metrics = metricsFromConfusion(classes, confusionMatrix(classes, truth, predicted));
  const kept = inRangeTotal.reduce((a, b) => a + b, 0);
  return {
    report_format: REPORT_FORMAT,
    model: {
      version: loaded.version,
      location: loaded.location,
      backend: loaded.backend,
      load_ms: Math.round(loaded.loadMs),
      card_format: loaded.card.card_format ?? 1,
      calibrated: loaded.trust.temperature !== null,
      feature_gate: loaded.trust.gate !== null,
    },
    data: { source: options.source ?? '', split: options.split ?? null, files: samples.length, slices: truth.length },
    unreadable,
    unreadable_count: unreadable.length,
    in_range: {
      slices,
      in_range: slices - declined,
      declined,
      rate: slices ? (slices - declined) / slices : 0,
      declined_by_reason: declinedByReason,
      recall_in_range: inRangeTotal.map((n, k) => (n ? inRangeCorrect[k] / n : null)),
      accuracy_in_range: kept ? inRangeCorrect.reduce((a, b) => a + b, 0) / kept : null,
    },
    images_per_second: seconds > 0 ? truth.length / seconds : 0,
    ...metrics,
    predictions,
  };
}

const f4 = (x: number): string => x.toFixed(4);

/** The printed report. Its lines and their order are a stable format (report_format 2): scripts may parse them. */
export function formatReport(r: EvaluationReport): string {
  const w = Math.max(12, ...r.classes.map((c) => c.length + 2));
  const g = r.in_range;
  const reasons = Object.entries(g.declined_by_reason)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  const lines = [
    `model: ${r.model.version} (${r.model.location}) backend: ${r.model.backend} load_ms: ${r.model.load_ms}`,
    `data: ${r.data.source} split: ${r.data.split ?? '-'} files: ${r.data.files} slices: ${r.data.slices} unreadable: ${r.unreadable_count}`,
    `accuracy: ${f4(r.accuracy)}`,
    `macro_f1: ${f4(r.macro_f1)}`,
    `absent_classes: ${r.absent_classes.length ? `${r.absent_classes.join(', ')} (no sample: left out of macro_f1)` : '-'}`,
    'per_class:',
    `  ${'class'.padEnd(w)}${'precision'.padStart(10)}${'recall'.padStart(10)}${'f1'.padStart(10)}${'support'.padStart(10)}`,
    ...r.per_class.map(
      (c) =>
        `  ${c.label.padEnd(w)}${f4(c.precision).padStart(10)}${f4(c.recall).padStart(10)}${f4(c.f1).padStart(10)}${String(c.support).padStart(10)}`,
    ),
    'confusion (rows = true, columns = predicted):',
    `  ${''.padEnd(w)}${r.classes.map((c) => c.padStart(w)).join('')}`,
    ...r.confusion.map((row, k) => `  ${r.classes[k].padEnd(w)}${row.map((v) => String(v).padStart(w)).join('')}`),
    `in_range: ${g.in_range}/${g.slices} (${(100 * g.rate).toFixed(1)} %) declined: ${g.declined}${reasons ? ` (${reasons})` : ''}`,
    `recall_in_range: ${r.classes.map((c, k) => `${c} ${g.recall_in_range[k] === null ? '-' : f4(g.recall_in_range[k]!)}`).join(', ')}`,
    `images_per_second: ${r.images_per_second.toFixed(2)}`,
  ];
  return lines.join('\n');
}

/** --max-unreadable: a count ("3") or a percentage of the files ("2%"); null when malformed. */
export function parseMaxUnreadable(value: string | undefined, files: number): number | null {
  if (value === undefined) return 0;
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(value.trim());
  if (!m) return null;
  const v = Number(m[1]);
  if (m[2]) return v <= 100 ? Math.floor((v / 100) * files) : null;
  return Number.isInteger(v) ? v : null;
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('evaluate', USAGE, argv, {
    ...MODEL_DATA_OPTIONS,
    split: { type: 'string' },
    limit: { type: 'string' },
    'max-unreadable': { type: 'string' },
  });
  if (typeof values === 'number') return values;
  const limit = values.limit ? Number(values.limit) : undefined;
  const batch = values.batch ? Number(values.batch) : undefined;
  const backend = values.backend as Backend | undefined;
  const bad: string[] = [];
  if (!values.model) bad.push('--model is required');
  if (!values.data) bad.push('--data is required');
  for (const problem of [
    checkPositiveInteger('--limit', limit),
    checkPositiveInteger('--batch', batch),
    checkChoice('--backend', backend, ['wasm', 'cpu', 'webgl']),
  ])
    if (problem) bad.push(problem);
  if (parseMaxUnreadable(values['max-unreadable'], 0) === null)
    bad.push('--max-unreadable must be a count (e.g. 3) or a percentage (e.g. 2%)');
  const json = values.json ? resolveArg(values.json) : undefined;
  const jsonProblem = json ? checkOutputFile(json) : null;
  if (jsonProblem) bad.push(jsonProblem);
  if (reportBadArguments('evaluate', bad, USAGE)) return EXIT.usage;
  let samples: Sample[];
  try {
    samples = limitSamples(listSamples(resolveArg(values.data!), values.split), limit);
  } catch (e) {
    console.error(`evaluate: ${(e as Error).message}`);
    return EXIT.data;
  }
  const loaded = await openModelOrReport('evaluate', values.model!, values.version, backend);
  if (!loaded) return EXIT.model;
  const report = await evaluate(loaded, samples, { batch, source: values.data, split: values.split });
  for (const u of report.unreadable) console.error(`unreadable: ${u.file}: ${u.reason}`);
  console.log(formatReport(report));
  if (json) writeJsonAtomic(json, report);
  if (!report.data.slices) {
    console.error(`evaluate: no usable image among ${samples.length} files`);
    return EXIT.data;
  }
  const allowed = parseMaxUnreadable(values['max-unreadable'], samples.length)!;
  if (report.unreadable_count > allowed) {
    console.error(
      `evaluate: FAILED: ${report.unreadable_count} of ${samples.length} files unreadable or with an unknown label ` +
        `(--max-unreadable ${values['max-unreadable'] ?? 0} allows ${allowed}); the figures above cover only the rest`,
    );
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
