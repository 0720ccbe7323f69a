/**
 * The real-series benchmark (issue 15 item 5): the viewer's own path over every slice of every series
 *   DICOM decode -> metadata gate -> preprocessing -> model -> calibration + feature gate -> series summary
 * and the targets a trustworthy classifier must meet on healthy / out-of-range / edge-case series.
 *
 *   npm run bench:series -- --model models --data <manifest.csv | folder> [--json FILE] [options]   (--help)
 *
 * Data: a CSV with `folder,expected` (folders relative to the CSV; ../shared/data/dicom-real/manifest.csv,
 * data/trust/benchmark-series.csv, tools/evaluator/manifests/shared-dicom.csv), or a folder holding such a
 * manifest.csv, or a folder whose subfolders are series (each gets --expected, default notumor-or-abstain).
 * One folder is one series (its DICOM files, every frame a slice).
 * Series on the trainer's training side (data/trust/series-split.csv, side=train; --training-side FILE) are
 * never counted: they are listed as excluded.
 *
 * Targets (per series, and summed per expected kind):
 *   notumor-or-abstain  <= 2 % of slices called a tumour, and the series summary claims no tumour
 *   abstain             >= 95 % of slices declined
 *   load                every slice decoded or declined with a reason (no crash); tumour calls are reported
 * Exit status: 0 done (targets met or not: see the report and `--fail-on-target`); 1 bad arguments; 2 the model
 * can't be loaded; 3 no series; 4 a target missed and --fail-on-target given.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { checkMetadata, classifyBatch, declined, type LoadedModel } from '../../extension/src/inference/classifier';
import { DicomReadError, readDicom, type DicomSlice } from '../../extension/src/inference/dicomFile';
import { sliceNormal } from '../../extension/src/inference/inRange';
import { preprocess } from '../../extension/src/inference/preprocess';
import {
  formatSeriesSummary,
  summariseSeries,
  type SeriesSlice,
  type SeriesSummary,
} from '../../extension/src/inference/seriesSummary';
import type { Classification } from '../../extension/src/inference/types';
import {
  checkChoice,
  checkOutputFile,
  checkPositiveInteger,
  MODEL_DATA_OPTIONS,
  openModelOrReport,
  parseCommandLine,
  reportBadArguments,
  resolveArg,
  writeJsonAtomic,
} from './cli';
import { parseCsv } from './data';

export const BENCH_FORMAT = 1;
export const EXPECTED = ['notumor-or-abstain', 'abstain', 'load'] as const;
export type Expected = (typeof EXPECTED)[number];
export const TARGETS = { max_tumour_rate: 0.02, min_declined_rate: 0.95 } as const;
const REPO = path.resolve(__dirname, '..', '..');
const DEFAULT_TRAINING_SIDE = path.join(REPO, 'data', 'trust', 'series-split.csv');

export const USAGE = `usage: npm run bench:series -- --model <registry|model dir|URL> --data <manifest.csv|folder> [options]

  --data D              a CSV with folder,expected (folders relative to it), a folder with such a manifest.csv,
                        or a folder whose subfolders are series (expected: --expected)
  --expected E          expected kind for series without a manifest: notumor-or-abstain (default), abstain, load
  --training-side F     series split CSV (folder,side): side=train series are never counted
                        (default data/trust/series-split.csv when it exists)
  --json FILE           the whole report as JSON (bench_format ${BENCH_FORMAT}); its folder must exist
  --version V           a registry version instead of latest
  --backend B           wasm (default) or cpu
  --batch N             slices per forward pass (default 8)
  --fail-on-target      exit 4 when a series misses its target
  -h, --help            this text

targets: notumor-or-abstain <= ${100 * TARGETS.max_tumour_rate} % slices called a tumour and no series claiming one;
         abstain >= ${100 * TARGETS.min_declined_rate} % slices declined; load: every slice decoded or declined with a reason`;

export interface SeriesSpec {
  name: string;
  folder: string;
  expected: Expected;
}

export interface SeriesResult {
  name: string;
  folder: string;
  expected: Expected;
  files: number;
  slices: number;
  declined: number;
  declined_by_reason: Record<string, number>;
  /** Files that could not be decoded, with the reader's reason (each counts as one slice). */
  unreadable: number;
  unreadable_by_reason: Record<string, number>;
  /** Unexpected exceptions (not a DicomReadError): a "load" target failure. */
  crashes: { file: string; error: string }[];
  /** In-range slices called each class (card order). */
  calls: Record<string, number>;
  tumour_slices: number;
  tumour_rate: number;
  declined_rate: number;
  claims_tumour: boolean;
  tumour_runs: SeriesSummary['runs'];
  summary: string;
  target: { name: string; met: boolean; detail: string };
}

export interface BenchReport {
  bench_format: number;
  model: {
    version: string;
    location: string;
    card_format: number;
    feature_gate: boolean;
    calibrated: boolean;
    backend: string;
  };
  data: string;
  targets: typeof TARGETS;
  excluded: { name: string; folder: string; why: string }[];
  series: SeriesResult[];
  totals: Record<
    Expected | 'all',
    {
      series: number;
      slices: number;
      declined: number;
      unreadable: number;
      tumour_slices: number;
      series_claiming: number;
      targets_met: number;
      declined_by_reason: Record<string, number>;
    }
  >;
  seconds: number;
}

function isExpected(e: string): e is Expected {
  return (EXPECTED as readonly string[]).includes(e);
}

/** The series to run, from a manifest CSV, a folder with manifest.csv, or a folder of series folders. */
export function listSeries(data: string, expected: Expected = 'notumor-or-abstain'): SeriesSpec[] {
  const st = fs.statSync(data, { throwIfNoEntry: false });
  if (!st) throw new Error(`${data}: no such file or folder`);
  let manifest = st.isFile() ? data : path.join(data, 'manifest.csv');
  if (!fs.existsSync(manifest)) manifest = '';
  if (manifest) {
    const rows = parseCsv(fs.readFileSync(manifest, 'utf8'));
    if (rows.length && (!('folder' in rows[0]) || !('expected' in rows[0])))
      throw new Error(`${manifest}: needs folder and expected columns`);
    const base = path.dirname(manifest);
    return rows.map((r) => {
      if (!isExpected(r.expected))
        throw new Error(`${manifest}: expected '${r.expected}' for ${r.folder} is not one of ${EXPECTED.join(', ')}`);
      return {
        name: r.folder.split('/').filter(Boolean).slice(-1)[0],
        folder: path.resolve(base, r.folder),
        expected: r.expected,
      };
    });
  }
  const subs = fs.readdirSync(data, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
  if (!subs.length) return [{ name: path.basename(data), folder: data, expected }];
  return subs
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, folder: path.join(data, name), expected }));
}

/** Folders on the training side (side=train) of a series split CSV, as path suffixes ("dicom/studyforrest-t1w"). */
export function trainingSide(file: string | null): string[] {
  if (!file || !fs.existsSync(file)) return [];
  const rows = parseCsv(fs.readFileSync(file, 'utf8'));
  if (rows.length && (!('folder' in rows[0]) || !('side' in rows[0])))
    throw new Error(`${file}: needs folder and side columns`);
  return rows.filter((r) => r.side === 'train').map((r) => r.folder.replace(/\\/g, '/').replace(/\/+$/, ''));
}

function onTrainingSide(folder: string, train: string[]): string | undefined {
  const f = path.resolve(folder).split(path.sep).join('/');
  return train.find((t) => f === t || f.endsWith(`/${t.replace(/^(\.\.\/)+/, '')}`));
}

function seriesFiles(folder: string): string[] {
  return fs
    .readdirSync(folder, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && (/\.(dcm|dicom)$/i.test(e.name) || !path.extname(e.name)))
    .map((e) => path.join(folder, e.name))
    .sort();
}

interface Item {
  file: string;
  frame: number;
  slice: DicomSlice | null;
  error: string | null;
  crash: boolean;
  key: [number, number, string, number];
}

/** Series order: single-frame series by position along the slice normal (else instance number); multi-frame in file order. */
function order(items: Item[]): Item[] {
  const multiFrame = items.some((i) => i.frame > 0);
  for (const it of items) {
    const s = it.slice;
    const n = s ? sliceNormal(s.attributes.ImageOrientationPatient) : null;
    const along =
      !multiFrame && s?.position && n ? s.position[0] * n[0] + s.position[1] * n[1] + s.position[2] * n[2] : NaN;
    const inst = !multiFrame && s?.instanceNumber !== undefined ? s.instanceNumber : NaN;
    it.key = [along, inst, it.file, it.frame];
  }
  const allPos = !multiFrame && items.every((i) => Number.isFinite(i.key[0]));
  const allInst = !multiFrame && items.every((i) => Number.isFinite(i.key[1]));
  return [...items].sort((a, b) => {
    if (allPos && a.key[0] !== b.key[0]) return a.key[0] - b.key[0];
    if (allInst && a.key[1] !== b.key[1]) return a.key[1] - b.key[1];
    return a.file < b.file ? -1 : a.file > b.file ? 1 : a.frame - b.frame;
  });
}

function target(expected: Expected, r: Omit<SeriesResult, 'target'>): SeriesResult['target'] {
  const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
  if (expected === 'notumor-or-abstain') {
    const met = r.tumour_rate <= TARGETS.max_tumour_rate && !r.claims_tumour && !r.crashes.length;
    return {
      name: `<= ${100 * TARGETS.max_tumour_rate} % tumour, no claim`,
      met,
      detail: `${pct(r.tumour_rate)} called a tumour${r.claims_tumour ? ', summary claims a tumour' : ''}`,
    };
  }
  if (expected === 'abstain') {
    return {
      name: `>= ${100 * TARGETS.min_declined_rate} % declined`,
      met: r.declined_rate >= TARGETS.min_declined_rate && !r.crashes.length,
      detail: `${pct(r.declined_rate)} declined`,
    };
  }
  const met = r.crashes.length === 0;
  return {
    name: 'decoded or declined with a reason',
    met,
    detail: met
      ? `${r.slices - r.unreadable} decoded, ${r.unreadable} refused with a reason`
      : `${r.crashes.length} crash(es)`,
  };
}

export async function runSeries(loaded: LoadedModel, spec: SeriesSpec, batch = 8): Promise<SeriesResult> {
  const files = seriesFiles(spec.folder);
  const items: Item[] = [];
  for (const file of files) {
    try {
      const slices = await readDicom(new Uint8Array(fs.readFileSync(file)));
      slices.forEach((slice, frame) =>
        items.push({ file, frame, slice, error: null, crash: false, key: [0, 0, '', 0] }),
      );
    } catch (e) {
      const crash = !(e instanceof DicomReadError);
      items.push({
        file,
        frame: 0,
        slice: null,
        error: `${crash ? 'crash: ' : ''}${(e as Error)?.message ?? String(e)}`,
        crash,
        key: [0, 0, '', 0],
      });
    }
  }
  const ordered = order(items);
  const results: (Classification | null)[] = ordered.map(() => null);
  const spec_ = loaded.card.preprocess;
  const per = spec_.input_size * spec_.input_size * spec_.channels;
  let pending: { i: number; input: Float32Array }[] = [];
  const flush = async (): Promise<void> => {
    if (!pending.length) return;
    const input = new Float32Array(per * pending.length);
    pending.forEach((p, k) => input.set(p.input, k * per));
    const out = await classifyBatch(loaded, input, pending.length);
    out.forEach((c, k) => (results[pending[k].i] = c));
    pending = [];
  };
  for (let i = 0; i < ordered.length; i++) {
    const it = ordered[i];
    if (!it.slice) continue;
    const gate = checkMetadata(loaded, it.slice.attributes);
    if (gate) {
      results[i] = declined(loaded, gate);
      continue;
    }
    try {
      pending.push({ i, input: preprocess(it.slice, spec_) });
    } catch (e) {
      it.error = `crash: preprocessing: ${(e as Error).message}`;
      it.crash = true;
      continue;
    }
    if (pending.length >= batch) await flush();
  }
  await flush();
  const seriesSlices: SeriesSlice[] = ordered.map((it, index) => ({
    index,
    classification: results[index],
    error: it.error,
  }));
  const s = summariseSeries(seriesSlices, { classes: loaded.card.classes });
  const base = {
    name: spec.name,
    folder: spec.folder,
    expected: spec.expected,
    files: files.length,
    slices: s.slices,
    declined: s.declined,
    declined_by_reason: s.declinedByReason,
    unreadable: s.unreadable,
    unreadable_by_reason: s.unreadableByReason,
    crashes: ordered.filter((it) => it.crash).map((it) => ({ file: it.file, error: it.error! })),
    calls: s.calls,
    tumour_slices: s.tumourSlices,
    tumour_rate: s.slices ? s.tumourSlices / s.slices : 0,
    declined_rate: s.slices ? s.declined / s.slices : 0,
    claims_tumour: s.claimsTumour,
    tumour_runs: s.runs,
    summary: formatSeriesSummary(s),
  };
  return { ...base, target: target(spec.expected, base) };
}

export function totals(series: SeriesResult[]): BenchReport['totals'] {
  const empty = () => ({
    series: 0,
    slices: 0,
    declined: 0,
    unreadable: 0,
    tumour_slices: 0,
    series_claiming: 0,
    targets_met: 0,
    declined_by_reason: {} as Record<string, number>,
  });
  const out = { 'notumor-or-abstain': empty(), abstain: empty(), load: empty(), all: empty() };
  for (const r of series) {
    for (const t of [out[r.expected], out.all]) {
      t.series++;
      t.slices += r.slices;
      t.declined += r.declined;
      t.unreadable += r.unreadable;
      t.tumour_slices += r.tumour_slices;
      t.series_claiming += r.claims_tumour ? 1 : 0;
      t.targets_met += r.target.met ? 1 : 0;
      for (const [k, v] of Object.entries(r.declined_by_reason))
        t.declined_by_reason[k] = (t.declined_by_reason[k] ?? 0) + v;
    }
  }
  return out;
}

const pct = (a: number, b: number): string => (b ? `${((100 * a) / b).toFixed(1)} %` : '-');

/** The printed report: one block per series, then the totals per expected kind (stable lines, prefixed). */
export function formatBench(r: BenchReport): string {
  const lines = [
    `model: ${r.model.version} (${r.model.location}) card_format: ${r.model.card_format} feature_gate: ${r.model.feature_gate ? 'yes' : 'no'} calibrated: ${r.model.calibrated ? 'yes' : 'no'} backend: ${r.model.backend}`,
    `data: ${r.data} series: ${r.series.length} excluded: ${r.excluded.length}`,
    ...r.excluded.map((e) => `excluded: ${e.name} (${e.why})`),
  ];
  for (const s of r.series) {
    const calls = Object.entries(s.calls)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const reasons = Object.entries(s.declined_by_reason)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    lines.push(
      `series: ${s.name} expected: ${s.expected} slices: ${s.slices} declined: ${s.declined} (${pct(s.declined, s.slices)}) unreadable: ${s.unreadable} tumour: ${s.tumour_slices} (${pct(s.tumour_slices, s.slices)}) claims_tumour: ${s.claims_tumour ? 'yes' : 'no'} target: ${s.target.met ? 'met' : 'MISSED'} (${s.target.detail})`,
      `  calls: ${calls || '-'}`,
      `  declined_by: ${reasons || '-'}`,
      ...(Object.keys(s.unreadable_by_reason).length
        ? [
            `  unreadable_by: ${Object.entries(s.unreadable_by_reason)
              .map(([k, v]) => `${k}: ${v}`)
              .join('; ')}`,
          ]
        : []),
      ...s.crashes.map((c) => `  CRASH: ${path.basename(c.file)}: ${c.error}`),
      `  summary: ${s.summary}`,
    );
  }
  for (const kind of [...EXPECTED, 'all'] as const) {
    const t = r.totals[kind];
    if (!t.series) continue;
    const reasons = Object.entries(t.declined_by_reason)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ');
    lines.push(
      `total: ${kind} series: ${t.series} slices: ${t.slices} declined: ${t.declined} (${pct(t.declined, t.slices)}) unreadable: ${t.unreadable} ` +
        `tumour: ${t.tumour_slices} (${pct(t.tumour_slices, t.slices)}) series_claiming_tumour: ${t.series_claiming} targets_met: ${t.targets_met}/${t.series}`,
      `  declined_by: ${reasons || '-'}`,
    );
  }
  lines.push(`seconds: ${r.seconds.toFixed(1)}`);
  return lines.join('\n');
}

export async function bench(
  loaded: LoadedModel,
  specs: SeriesSpec[],
  options: { data: string; train?: string[]; batch?: number; log?: (s: string) => void } = { data: '' },
): Promise<BenchReport> {
  const t0 = performance.now();
  const excluded: BenchReport['excluded'] = [];
  const series: SeriesResult[] = [];
  for (const spec of specs) {
    const t = onTrainingSide(spec.folder, options.train ?? []);
    if (t) {
      excluded.push({ name: spec.name, folder: spec.folder, why: `training side (${t})` });
      continue;
    }
    if (!fs.statSync(spec.folder, { throwIfNoEntry: false })?.isDirectory())
      throw new Error(`${spec.folder}: series folder not found`);
    const r = await runSeries(loaded, spec, options.batch);
    options.log?.(`${r.name}: ${r.summary}`);
    series.push(r);
  }
  return {
    bench_format: BENCH_FORMAT,
    model: {
      version: loaded.version,
      location: loaded.location,
      card_format: loaded.card.card_format ?? 1,
      feature_gate: loaded.trust.gate !== null,
      calibrated: loaded.trust.temperature !== null,
      backend: loaded.backend,
    },
    data: options.data,
    targets: TARGETS,
    excluded,
    series,
    totals: totals(series),
    seconds: (performance.now() - t0) / 1000,
  };
}

export async function main(argv: string[]): Promise<number> {
  const values = parseCommandLine('bench:series', USAGE, argv, {
    ...MODEL_DATA_OPTIONS,
    expected: { type: 'string' },
    'training-side': { type: 'string' },
    'fail-on-target': { type: 'boolean' },
    quiet: { type: 'boolean', short: 'q' },
  });
  if (typeof values === 'number') return values;
  const bad: string[] = [];
  if (!values.model) bad.push('--model is required');
  if (!values.data) bad.push('--data is required');
  if (values.expected && !isExpected(values.expected)) bad.push(`--expected must be one of ${EXPECTED.join(', ')}`);
  const batch = values.batch ? Number(values.batch) : 8;
  for (const problem of [
    checkPositiveInteger('--batch', batch),
    checkChoice('--backend', values.backend, ['wasm', 'cpu']),
  ])
    if (problem) bad.push(problem);
  const json = values.json ? resolveArg(values.json) : undefined;
  const jsonProblem = json ? checkOutputFile(json) : null;
  if (jsonProblem) bad.push(jsonProblem);
  const trainFile = values['training-side'] ? resolveArg(values['training-side']) : DEFAULT_TRAINING_SIDE;
  if (values['training-side'] && !fs.existsSync(trainFile)) bad.push(`--training-side ${trainFile}: no such file`);
  if (reportBadArguments('bench:series', bad, USAGE)) return 1;
  let specs: SeriesSpec[];
  let train: string[];
  try {
    specs = listSeries(resolveArg(values.data!), (values.expected as Expected) ?? 'notumor-or-abstain');
    train = trainingSide(trainFile);
  } catch (e) {
    console.error(`bench:series: ${(e as Error).message}`);
    return 3;
  }
  if (!specs.length) {
    console.error('bench:series: no series');
    return 3;
  }
  const loaded = await openModelOrReport(
    'bench:series',
    values.model!,
    values.version,
    (values.backend as 'wasm' | 'cpu') ?? 'wasm',
  );
  if (!loaded) return 2;
  const report = await bench(loaded, specs, {
    data: values.data!,
    train,
    batch,
    log: values.quiet ? undefined : (s) => console.error(s),
  });
  console.log(formatBench(report));
  if (json) writeJsonAtomic(json, report);
  if (!report.series.length) {
    console.error('bench:series: every series was excluded');
    return 3;
  }
  if (values['fail-on-target'] && report.series.some((s) => !s.target.met)) return 4;
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      console.error(`bench:series: ${(e as Error).stack ?? e}`);
      process.exit(1);
    },
  );
}
