/**
 * Issue 15 item 5: `npm run bench:series` (tools/evaluator/bench-series.ts), the viewer's path over whole DICOM
 * series, on small series made at test time (random-weights models: only the mechanics are checked, not the
 * figures) and, when ../shared/data is present, on every row of dicom-real (every `load` row decoded or declined
 * with a reason, no crash; what metadata can tell is declined).
 */
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';

import { bench, listSeries, trainingSide, type BenchReport } from '../../tools/evaluator/bench-series';
import { openModel } from '../../tools/evaluator/evaluate';
import {
  FIXTURES,
  REPO,
  SHARED_DATA,
  exportModel,
  python,
  randomCheckpoint,
  readJson,
  syntheticGate,
  tmpDir,
} from './inferenceFixtures';

const run = promisify(execFile);

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsNode = path.join(REPO, 'node_modules', 'ts-node', 'dist', 'bin.js');
  try {
    const r = await run(
      process.execPath,
      [tsNode, '-P', 'tools/evaluator/tsconfig.json', 'tools/evaluator/bench-series.ts', ...args],
      { cwd: REPO },
    );
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

let work: string;
let plain: string;
let gated: string;
let data: string;
let trainCsv: string;

beforeAll(() => {
  work = tmpDir('bench-series');
  const ckpt = randomCheckpoint(work, 32);
  plain = exportModel(ckpt, path.join(work, 'plain'), 'bench-1');
  gated = exportModel(ckpt, path.join(work, 'gated'), 'bench-2', 'float32', [
    '--gate',
    syntheticGate(ckpt, path.join(work, 'gate')),
  ]);
  data = path.join(work, 'data');
  const mk = (name: string): string => {
    fs.mkdirSync(path.join(data, name), { recursive: true });
    return path.join(data, name);
  };
  for (const f of fs.readdirSync(path.join(FIXTURES, 'dicom')))
    fs.copyFileSync(path.join(FIXTURES, 'dicom', f), path.join(mk('axial'), f));
  // Sagittal copies of a real axial slice, and a series on the training side.
  python([
    '-c',
    'import pydicom,sys\nfor i in range(3):\n d=pydicom.dcmread(sys.argv[1]); d.ImageOrientationPatient=[0,1,0,0,0,-1]; d.InstanceNumber=i+1; d.ImagePositionPatient=[5*i,0,0]; d.save_as(f"{sys.argv[2]}/s{i}.dcm")',
    path.join(FIXTURES, 'dicom', 'studyforrest-N2D_0189.dcm'),
    mk('sagittal'),
  ]);
  fs.cpSync(path.join(data, 'axial'), mk('trained-here'), { recursive: true });
  // Every encoding case of the DICOM reader's fixtures, and a truncated file: decoded or refused with a reason.
  python([path.join(REPO, 'tests', 'fixtures', 'dicom-input', 'make_fixtures.py'), mk('encodings')]);
  fs.rmSync(path.join(data, 'encodings', 'expected.json'));
  const whole = fs.readFileSync(path.join(FIXTURES, 'dicom', 'studyforrest-N2D_0189.dcm'));
  fs.writeFileSync(path.join(mk('broken'), 'truncated.dcm'), whole.subarray(0, 2000));
  fs.writeFileSync(
    path.join(data, 'manifest.csv'),
    'folder,expected\naxial,notumor-or-abstain\nsagittal,abstain\nencodings,load\nbroken,load\ntrained-here,notumor-or-abstain\n',
  );
  trainCsv = path.join(work, 'series-split.csv');
  fs.writeFileSync(
    trainCsv,
    'folder,source,side,expected\ndata/trained-here,test,train,notumor-or-abstain\ndata/axial,test,benchmark,notumor-or-abstain\n',
  );
}, 180_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

test('CLI: per series and total figures, targets, training side excluded, stable JSON', async () => {
  const json = path.join(work, 'bench.json');
  const r = await cli(['--model', plain, '--data', data, '--training-side', trainCsv, '--json', json, '--quiet']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^model: bench-1 \(.*\) card_format: 1 feature_gate: no calibrated: no backend: wasm$/);
  expect(lines[1]).toMatch(/^data: .* series: 4 excluded: 1$/);
  expect(lines[2]).toBe('excluded: trained-here (training side (data/trained-here))');
  expect(lines.filter((l) => l.startsWith('series: ')).map((l) => l.split(' ')[1])).toEqual([
    'axial',
    'sagittal',
    'encodings',
    'broken',
  ]);
  expect(lines.filter((l) => l.startsWith('total: ')).map((l) => l.split(' ')[1])).toEqual([
    'notumor-or-abstain',
    'abstain',
    'load',
    'all',
  ]);
  expect(lines[lines.length - 1]).toMatch(/^seconds: \d+\.\d$/);

  const report = readJson<BenchReport>(json);
  expect(report.bench_format).toBe(1);
  expect(Object.keys(report.series[0]).sort()).toEqual(
    [
      'calls',
      'claims_tumour',
      'crashes',
      'declined',
      'declined_by_reason',
      'declined_rate',
      'expected',
      'files',
      'folder',
      'name',
      'slices',
      'summary',
      'target',
      'tumour_rate',
      'tumour_runs',
      'tumour_slices',
      'unreadable',
      'unreadable_by_reason',
    ].sort(),
  );
  const by = Object.fromEntries(report.series.map((s) => [s.name, s]));
  expect(by.sagittal).toMatchObject({
    slices: 3,
    declined: 3,
    declined_by_reason: { 'not an axial slice': 3 },
    target: { met: true },
  });
  // 7 files, enhanced has 3 frames: 9 slices, every one decoded; colour, mosaic and the sagittal frame declined.
  expect(by.encodings).toMatchObject({ files: 7, slices: 9, unreadable: 0, crashes: [], target: { met: true } });
  expect(by.encodings.declined_by_reason).toEqual({
    'a colour image': 1,
    'a mosaic of many slices': 1,
    'not an axial slice': 1,
  });
  expect(by.broken).toMatchObject({ slices: 1, unreadable: 1, crashes: [], target: { met: true } });
  expect(Object.keys(by.broken.unreadable_by_reason)[0]).toMatch(/not a readable DICOM file|pixel data/);
  expect(by.axial.slices).toBe(2);
  expect(by.axial.target.met).toBe(by.axial.tumour_slices / 2 <= 0.02 && !by.axial.claims_tumour);
  const all = report.totals.all;
  expect(all.series).toBe(4);
  expect(all.slices).toBe(report.series.reduce((a, s) => a + s.slices, 0));
  expect(all.declined).toBe(report.series.reduce((a, s) => a + s.declined, 0));
  expect(report.totals.abstain).toMatchObject({ series: 1, slices: 3, declined: 3, targets_met: 1 });
}, 120_000);

test('card_format 2: the feature gate runs on every in-range slice', async () => {
  const loaded = await openModel(gated);
  const report = await bench(loaded, listSeries(data), { data, train: trainingSide(trainCsv) });
  expect(report.model).toMatchObject({ card_format: 2, feature_gate: true, calibrated: true });
  for (const s of report.series) {
    for (const reason of Object.keys(s.declined_by_reason)) {
      expect([
        'a colour image',
        'a mosaic of many slices',
        'not an axial slice',
        'unlike the images the model was trained on',
      ]).toContain(reason);
    }
  }
  loaded.model.dispose();
}, 120_000);

test('arguments: --help, bad manifest, missing --json folder, unknown expected', async () => {
  const help = await cli(['--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/^usage: npm run bench:series -- --model/);
  expect((await cli(['--model', plain])).code).toBe(1);
  const missing = await cli(['--model', plain, '--data', data, '--json', path.join(work, 'nope', 'r.json')]);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/folder .*nope does not exist/);
  const badCsv = path.join(work, 'bad.csv');
  fs.writeFileSync(badCsv, 'folder,expected\ndata/axial,tumour\n');
  const bad = await cli(['--model', plain, '--data', badCsv]);
  expect(bad.code).toBe(3);
  expect(bad.stderr).toMatch(/expected 'tumour' for data\/axial is not one of notumor-or-abstain, abstain, load/);
  expect(listSeries(path.join(data, 'axial'), 'abstain')).toEqual([
    { name: 'axial', folder: path.join(data, 'axial'), expected: 'abstain' },
  ]);
}, 120_000);

const REAL = path.join(SHARED_DATA, 'dicom-real', 'manifest.csv');
if (!fs.existsSync(REAL)) console.warn(`skipping the dicom-real benchmark test: ${REAL} is absent`);
(fs.existsSync(REAL) ? test : test.skip)(
  'dicom-real (every row; skipped without ../shared/data): no crash, every load row met, metadata declines what it can',
  async () => {
    const loaded = await openModel(plain);
    const report = await bench(loaded, listSeries(REAL), {
      data: REAL,
      train: trainingSide(path.join(REPO, 'data', 'trust', 'series-split.csv')),
    });
    expect(report.series.flatMap((s) => s.crashes)).toEqual([]);
    expect(report.series.filter((s) => s.expected === 'load' && !s.target.met).map((s) => s.name)).toEqual([]);
    expect(report.totals.load.unreadable).toBe(0);
    const byMetadata = [
      'canon-dwi-sag',
      'ge-phantom-localizer-3plane',
      'philips-t1-mprage-sag',
      'siemens-epi-cor-mosaic',
      'siemens-phantom-scout-mpr-cor',
      'siemens-phantom-scout-sag',
      'siemens-t1-fl2d-sag',
    ];
    for (const s of report.series.filter((x) => byMetadata.includes(x.name)))
      expect([s.name, s.declined_rate]).toEqual([s.name, 1]);
    console.log(
      `dicom-real with a random model: ${report.series.length} series, ${report.totals.all.slices} slices, ${report.totals.all.declined} declined by metadata, ${report.seconds.toFixed(0)} s`,
    );
    loaded.model.dispose();
  },
  600_000,
);
