/** The Node evaluator (`npm run evaluate`) on real JPEG and DICOM files, its exit codes and its stable output. */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { evaluate, openModel, type EvaluationReport } from '../../tools/evaluator/evaluate';
import { limitSamples, listSamples } from '../../tools/evaluator/data';
import { metricsFromConfusion } from '../../tools/evaluator/metrics';
import {
  FIXTURES,
  REPO,
  SHARED_DATA,
  exportModel,
  python,
  randomCheckpoint,
  readJson,
  tmpDir,
} from './inferenceFixtures';

const run = promisify(execFile);
const CLASSES = ['glioma', 'meningioma', 'notumor', 'pituitary'];

let work: string;
let modelDir: string;
let data: string;

/** The evaluator as an admin runs it (same runner as `npm run evaluate`). */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsNode = path.join(REPO, 'node_modules', 'ts-node', 'dist', 'bin.js');
  try {
    const r = await run(
      process.execPath,
      [tsNode, '-P', 'tools/evaluator/tsconfig.json', 'tools/evaluator/evaluate.ts', ...args],
      { cwd: REPO },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

beforeAll(() => {
  work = tmpDir('evaluate');
  modelDir = exportModel(randomCheckpoint(work, 32), path.join(work, 'model'), 'eval-1');
  data = path.join(work, 'data');
  for (const f of fs.readdirSync(path.join(FIXTURES, 'jpeg'))) {
    const label = f.split('-')[0];
    fs.mkdirSync(path.join(data, label), { recursive: true });
    fs.copyFileSync(path.join(FIXTURES, 'jpeg', f), path.join(data, label, f));
  }
  for (const f of fs.readdirSync(path.join(FIXTURES, 'dicom')))
    fs.copyFileSync(path.join(FIXTURES, 'dicom', f), path.join(data, 'notumor', f));
  fs.writeFileSync(
    path.join(data, 'pituitary', 'broken.jpg'),
    fs.readFileSync(path.join(FIXTURES, 'jpeg', 'pituitary-tr-Tr-pi_0048.jpg')).subarray(0, 300),
  );
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('class-folder data: stable report, JSON, unreadable files counted, metrics agree with scikit-learn', async () => {
  const json = path.join(work, 'report.json');
  const r = await cli(['--model', modelDir, '--data', data, '--json', json, '--max-unreadable', '1']);
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^model: eval-1 \(.*\) backend: wasm load_ms: \d+$/);
  expect(lines[1]).toMatch(/^data: .* split: - files: 7 slices: 6 unreadable: 1$/);
  expect(lines[2]).toMatch(/^accuracy: \d\.\d{4}$/);
  expect(lines[3]).toMatch(/^macro_f1: \d\.\d{4}$/);
  expect(lines[4]).toBe('absent_classes: -');
  expect(lines[5]).toBe('per_class:');
  expect(lines.slice(7, 11).map((l) => l.trim().split(/\s+/)[0])).toEqual(CLASSES);
  expect(lines[11]).toBe('confusion (rows = true, columns = predicted):');
  // card_format 1: no feature gate; the DICOM slices are axial MR, so the metadata gate keeps them all.
  expect(lines[lines.length - 3]).toBe('in_range: 6/6 (100.0 %) declined: 0');
  expect(lines[lines.length - 2]).toMatch(
    /^recall_in_range: glioma \d\.\d{4}, meningioma \d\.\d{4}, notumor \d\.\d{4}, pituitary \d\.\d{4}$/,
  );
  expect(lines[lines.length - 1]).toMatch(/^images_per_second: \d+\.\d{2}$/);
  expect(r.stderr).toMatch(/unreadable: .*broken\.jpg/);

  const report = readJson<EvaluationReport>(json);
  expect(report.report_format).toBe(2);
  expect(report.data.slices).toBe(6);
  expect(report.unreadable_count).toBe(1);
  expect(report.predictions.filter((p) => p.file.endsWith('.dcm')).every((p) => p.label === 'notumor')).toBe(true);
  const truth = report.predictions.map((p) => p.label);
  const pred = report.predictions.map((p) => p.predicted);
  const sk = JSON.parse(
    python([
      '-c',
      'import json,sys; from sklearn.metrics import accuracy_score,f1_score,confusion_matrix,precision_recall_fscore_support as prf\n' +
        't,p,c=json.loads(sys.argv[1]); P,R,F,_=prf(t,p,labels=c,zero_division=0)\n' +
        'print(json.dumps({"accuracy":accuracy_score(t,p),"macro_f1":f1_score(t,p,labels=c,average="macro",zero_division=0),' +
        '"confusion":confusion_matrix(t,p,labels=c).tolist(),"precision":P.tolist(),"recall":R.tolist()}))',
      JSON.stringify([truth, pred, CLASSES]),
    ]),
  );
  expect(report.accuracy).toBeCloseTo(sk.accuracy, 10);
  expect(report.macro_f1).toBeCloseTo(sk.macro_f1, 10);
  expect(report.confusion).toEqual(sk.confusion);
  expect(report.per_class.map((c) => c.precision)).toEqual(sk.precision.map((x: number) => expect.closeTo(x, 10)));
  expect(report.per_class.map((c) => c.recall)).toEqual(sk.recall.map((x: number) => expect.closeTo(x, 10)));
}, 60_000);

test('exit 2 when the model fails verification or is missing; exit 1 on bad arguments', async () => {
  const bad = path.join(work, 'bad-model');
  fs.cpSync(modelDir, bad, { recursive: true });
  const shard = path.join(bad, 'group1-shard2of11.bin');
  const b = fs.readFileSync(shard);
  b[7] ^= 1;
  fs.writeFileSync(shard, b);
  const tampered = await cli(['--model', bad, '--data', data, '--max-unreadable', '1']);
  expect(tampered.code).toBe(2);
  expect(tampered.stderr).toMatch(/SHA-256 mismatch for group1-shard2of11.bin/);
  expect((await cli(['--model', path.join(work, 'missing'), '--data', data, '--max-unreadable', '1'])).code).toBe(2);
  expect((await cli(['--data', data])).code).toBe(1);
}, 60_000);

test('manifest CSV with --split and --limit', async () => {
  const csv = path.join(data, 'manifest.csv');
  const rows = ['file,label,split'];
  for (const label of CLASSES)
    for (const f of fs.readdirSync(path.join(data, label)))
      rows.push(`${label}/${f},${label},${f.endsWith('.dcm') ? 'test' : 'train'}`);
  fs.writeFileSync(csv, rows.join('\n') + '\n');
  expect(
    listSamples(csv, 'test')
      .map((s) => path.basename(s.file))
      .sort(),
  ).toEqual(fs.readdirSync(path.join(FIXTURES, 'dicom')).sort());
  const limited = limitSamples(listSamples(csv, 'train'), 4);
  expect(new Set(limited.map((s) => s.label)).size).toBe(4);
  const report = await evaluate(await openModel(modelDir), listSamples(csv, 'test'), { split: 'test' });
  expect(report.data.slices).toBe(2);
  expect(report.confusion.flat().reduce((a, b) => a + b, 0)).toBe(2);
  expect(() => listSamples(data, 'test')).toThrow(/--split needs a manifest CSV/);
  // Exactly matched: a near miss is an error naming the CSV's splits, never a silently smaller run (issue 17 item 8).
  expect(() => listSamples(csv, 'Test')).toThrow(
    "no split 'Test' (splits in this CSV: test, train; names match exactly)",
  );
  expect(listSamples(csv, 'test,train')).toHaveLength(listSamples(csv).length);
  const cliRun = await cli(['--model', modelDir, '--data', csv, '--split', 'Test']);
  expect(cliRun.code).toBe(3);
  expect(cliRun.stderr).toMatch(/no split 'Test' \(splits in this CSV: test, train/);
});

describe('issue 17 item 8: the evaluator does not report figures on data it could not read', () => {
  let csv: string;
  beforeAll(() => {
    // 3 of 4 rows unreadable: a missing file, a truncated JPEG, an unknown label; 1 good JPEG.
    csv = path.join(work, 'mostly-broken.csv');
    fs.writeFileSync(
      csv,
      [
        'file,label',
        'data/glioma/missing.jpg,glioma',
        'data/pituitary/broken.jpg,pituitary',
        `data/notumor/${fs.readdirSync(path.join(FIXTURES, 'dicom'))[0]},Notumor`,
        `data/glioma/${fs.readdirSync(path.join(data, 'glioma')).find((f) => f.endsWith('.jpg'))},glioma`,
      ].join('\n') + '\n',
    );
  });

  test('3 of 4 files unreadable: counted in the summary and the run fails (exit 3) unless --max-unreadable allows it', async () => {
    const r = await cli(['--model', modelDir, '--data', csv]);
    expect(r.code).toBe(3);
    expect(r.stdout).toMatch(/files: 4 slices: 1 unreadable: 3\n/);
    expect(r.stderr).toMatch(
      /FAILED: 3 of 4 files unreadable or with an unknown label \(--max-unreadable 0 allows 0\)/,
    );
    expect(r.stderr).toMatch(/label Notumor is not one of the model's classes/);
    expect((await cli(['--model', modelDir, '--data', csv, '--max-unreadable', '3'])).code).toBe(0);
    expect((await cli(['--model', modelDir, '--data', csv, '--max-unreadable', '75%'])).code).toBe(0);
    expect((await cli(['--model', modelDir, '--data', csv, '--max-unreadable', '50%'])).code).toBe(3);
    expect((await cli(['--model', modelDir, '--data', csv, '--max-unreadable', 'some'])).code).toBe(1);
  }, 60_000);

  test('macro-F1 averages over the classes present and names the absent ones', async () => {
    // 6 correct predictions of one class: macro-F1 1.0 over that class (it was 0.25 over all four).
    const m = metricsFromConfusion(CLASSES, [
      [6, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
    expect(m.macro_f1).toBe(1);
    expect(m.absent_classes).toEqual(['meningioma', 'notumor', 'pituitary']);
    const r = await cli(['--model', modelDir, '--data', csv, '--max-unreadable', '3']);
    expect(r.stdout).toMatch(/\nabsent_classes: meningioma, notumor, pituitary \(no sample: left out of macro_f1\)\n/);
  }, 60_000);

  test('--json into a missing folder is refused before any work; --help', async () => {
    const t0 = Date.now();
    const r = await cli(['--model', modelDir, '--data', data, '--json', path.join(work, 'no-such-folder', 'r.json')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--json .*r\.json: folder .*no-such-folder does not exist/);
    expect(r.stdout).toBe(''); // nothing evaluated
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect((await cli(['--model', modelDir, '--data', data, '--json', work])).stderr).toMatch(/is a folder/);
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run evaluate -- --model/);
    expect(help.stdout).toMatch(/--max-unreadable/);
  }, 60_000);
});

const splits = path.join(SHARED_DATA, 'brain-mri-2d', 'dev', 'splits-protocol-500.csv');
(fs.existsSync(splits) ? test : test.skip)('shared dev test split (skipped without ../shared/data)', async () => {
  const samples = limitSamples(listSamples(splits, 'test'), 8);
  const report = await evaluate(await openModel(modelDir), samples, { split: 'test' });
  expect(report.unreadable).toEqual([]);
  expect(report.data.slices).toBe(8);
});

// The shipped model's card states its dev test figures (PyTorch, float32 checkpoint). The Node evaluator on the
// shipped float16 files must reproduce them: float16 weights may flip a borderline slice or two, no more.
(fs.existsSync(splits) ? test : test.skip)(
  "the shipped model reproduces its card's dev test figures (skipped without ../shared/data)",
  async () => {
    const registry = path.join(REPO, 'models');
    const model = await openModel(registry);
    const card = model.card as unknown as {
      version: string;
      metrics: {
        split: string;
        detail: { n: number; accuracy: number; macro_f1: number; confusion_matrix: number[][] };
      };
    };
    expect(card.metrics.split).toBe('test');
    const report = await evaluate(model, listSamples(splits, 'test'), { split: 'test' });
    const claimed = card.metrics.detail;
    expect(report.data.slices).toBe(claimed.n);
    const moved =
      report.confusion.flat().reduce((s, v, i) => s + Math.abs(v - claimed.confusion_matrix.flat()[i]), 0) / 2;
    console.log(
      `shipped ${card.version} in Node: accuracy ${report.accuracy.toFixed(4)} (card ${claimed.accuracy.toFixed(4)}), ` +
        `macro-F1 ${report.macro_f1.toFixed(4)} (card ${claimed.macro_f1.toFixed(4)}), ${moved} slice(s) moved in the confusion matrix, ` +
        `${report.images_per_second.toFixed(1)} images/s; in range ${report.in_range.in_range}/${report.in_range.slices} ` +
        `(${(100 * report.in_range.rate).toFixed(1)} %), recall in range ${report.in_range.recall_in_range.map((r) => (r === null ? '-' : r.toFixed(3))).join('/')}`,
    );
    expect(moved).toBeLessThanOrEqual(3);
    expect(Math.abs(report.accuracy - claimed.accuracy)).toBeLessThanOrEqual(3 / claimed.n);
    expect(Math.abs(report.macro_f1 - claimed.macro_f1)).toBeLessThan(0.01);
    model.model.dispose();
  },
  600_000,
);
