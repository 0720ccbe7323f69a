#!/usr/bin/env node
// Derives the embedded demo studies (demo/sample-study/) from the real, de-identified brain MR series in
// ../shared/data/dicom: a few slices of each series, byte-identical to their sources (same UIDs), plus a
// dicomjson manifest template (study.json) whose instance URLs are relative; the viewer server makes them
// absolute per request. One repair: a Patient's Age (0010,1010) that is not the 4-character AS form "nnnY"
// (studyforrest writes "42") is rewritten to it ("042Y"); Cornerstone's DICOM reader otherwise logs
// "Invalid length for fixed length tag, vr AS" for every file. Nothing else changes (same UIDs, same pixels).
// Run once; the result is committed:  node tools/sample-study/make-sample-study.mjs
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dicomParser from 'dicom-parser';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const sourceRoot = path.resolve(repo, '..', 'shared', 'data', 'dicom');
const outRoot = path.join(repo, 'demo', 'sample-study');

// Which slices: every n-th instance over the middle of each head, enough to scroll through, a few MB in all.
const SERIES = [
  {
    folder: 'adi-t2-axial',
    name: 'adi-t2-axial',
    instanceNumbers: [12, 18, 24, 30, 36, 42, 48],
    notes: ['SOURCE.txt'],
  },
  {
    folder: 'studyforrest-t1w',
    name: 'studyforrest-t1w',
    instanceNumbers: [97, 129, 161, 193, 225, 257, 289, 321, 353],
    notes: ['SOURCE.txt', 'LICENSE'],
  },
];

// Tags copied into the manifest, by keyword; the VR decides how the value is read.
const TAGS = {
  x00080016: ['SOPClassUID', 'str'],
  x00080018: ['SOPInstanceUID', 'str'],
  x00080008: ['ImageType', 'strs'],
  x00080020: ['StudyDate', 'str'],
  x00080030: ['StudyTime', 'str'],
  x00080021: ['SeriesDate', 'str'],
  x00080050: ['AccessionNumber', 'str'],
  x00080060: ['Modality', 'str'],
  x00080070: ['Manufacturer', 'str'],
  x00081030: ['StudyDescription', 'str'],
  x0008103e: ['SeriesDescription', 'str'],
  x00100010: ['PatientName', 'str'],
  x00100020: ['PatientID', 'str'],
  x00100040: ['PatientSex', 'str'],
  x00180050: ['SliceThickness', 'num'],
  x00180088: ['SpacingBetweenSlices', 'num'],
  x0020000d: ['StudyInstanceUID', 'str'],
  x0020000e: ['SeriesInstanceUID', 'str'],
  x00200010: ['StudyID', 'str'],
  x00200011: ['SeriesNumber', 'num'],
  x00200013: ['InstanceNumber', 'num'],
  x00200032: ['ImagePositionPatient', 'nums'],
  x00200037: ['ImageOrientationPatient', 'nums'],
  x00200052: ['FrameOfReferenceUID', 'str'],
  x00201041: ['SliceLocation', 'num'],
  x00280002: ['SamplesPerPixel', 'us'],
  x00280004: ['PhotometricInterpretation', 'str'],
  x00280010: ['Rows', 'us'],
  x00280011: ['Columns', 'us'],
  x00280030: ['PixelSpacing', 'nums'],
  x00280100: ['BitsAllocated', 'us'],
  x00280101: ['BitsStored', 'us'],
  x00280102: ['HighBit', 'us'],
  x00280103: ['PixelRepresentation', 'us'],
  x00281050: ['WindowCenter', 'nums'],
  x00281051: ['WindowWidth', 'nums'],
  x00281052: ['RescaleIntercept', 'num'],
  x00281053: ['RescaleSlope', 'num'],
};

function readMetadata(bytes) {
  const ds = dicomParser.parseDicom(bytes, { untilTag: 'x7fe00010' });
  const meta = {};
  for (const [tag, [keyword, kind]] of Object.entries(TAGS)) {
    if (!ds.elements[tag]) continue;
    const text = () => (ds.string(tag) ?? '').trim();
    let value;
    if (kind === 'us') value = ds.uint16(tag);
    else if (kind === 'num') value = text() === '' ? undefined : Number(text());
    else if (kind === 'nums') value = text() === '' ? undefined : text().split('\\').map(Number);
    else if (kind === 'strs') value = text().split('\\');
    else value = text();
    if (value !== undefined && value !== '') meta[keyword] = value;
  }
  if (meta.WindowCenter?.length === 1) meta.WindowCenter = meta.WindowCenter[0];
  if (meta.WindowWidth?.length === 1) meta.WindowWidth = meta.WindowWidth[0];
  return meta;
}

/**
 * Returns the file with a non-conforming Patient's Age (VR AS must be 4 characters, "nnnD|W|M|Y") rewritten as
 * "nnnY", or the file unchanged. Handles implicit and explicit VR little endian (the sample files' syntaxes);
 * DICOM has no absolute offsets in these files (no group length in group 0010), so only the element changes.
 */
export function fixPatientAge(bytes) {
  const ds = dicomParser.parseDicom(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
    untilTag: 'x00101010',
  });
  const el = ds.elements.x00101010;
  if (!el) return bytes;
  const value = (ds.string('x00101010') ?? '').trim();
  if (/^\d{3}[DWMY]$/.test(value)) return bytes;
  const m = /^(\d{1,3})\s*([DWMY])?$/i.exec(value);
  if (!m) throw new Error(`Patient's Age "${value}" is not a number of years`);
  if (ds.elements.x00100000) throw new Error('group 0010 has a group length; not rewritten');
  const fixed = Buffer.from(`${m[1].padStart(3, '0')}${(m[2] ?? 'Y').toUpperCase()}`, 'latin1');
  const syntax = (ds.string('x00020010') ?? '').replace(/\0/g, '').trim();
  const implicit = syntax === '1.2.840.10008.1.2';
  if (!implicit && syntax !== '1.2.840.10008.1.2.1') throw new Error(`transfer syntax ${syntax} not handled`);
  const lengthAt = el.dataOffset - (implicit ? 4 : 2);
  const head = Buffer.from(bytes.subarray(0, lengthAt));
  const length = Buffer.alloc(implicit ? 4 : 2);
  if (implicit) length.writeUInt32LE(fixed.length);
  else length.writeUInt16LE(fixed.length);
  return Buffer.concat([head, length, fixed, Buffer.from(bytes.subarray(el.dataOffset + el.length))]);
}

function writeAtomic(file, data) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function main() {
  const args = process.argv.slice(2);
  if (args.length) {
    const help = args.includes('--help') || args.includes('-h');
    (help ? console.log : console.error)(
      'usage: node tools/sample-study/make-sample-study.mjs   (no options)\n' +
        'Rebuilds demo/sample-study/ (DICOM files and study.json) from ../shared/data/dicom; the result is committed.',
    );
    process.exit(help ? 0 : 2);
  }
  if (!fs.existsSync(sourceRoot)) {
    console.error(`make-sample-study: source data not found at ${sourceRoot} (../shared/data/dicom)`);
    process.exit(1);
  }
  const studies = new Map();
  for (const spec of SERIES) {
    const dir = path.join(sourceRoot, spec.folder);
    const byNumber = new Map();
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.dcm'))) {
      const bytes = fs.readFileSync(path.join(dir, file));
      const meta = readMetadata(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      byNumber.set(meta.InstanceNumber, { file, bytes, meta });
    }
    const picked = spec.instanceNumbers.map((n) => {
      const hit = byNumber.get(n);
      if (!hit) throw new Error(`${spec.folder}: no instance number ${n}`);
      return hit;
    });
    for (const note of spec.notes) {
      writeAtomic(path.join(outRoot, spec.name, note), fs.readFileSync(path.join(dir, note)));
    }
    for (const { file, bytes, meta } of picked) {
      writeAtomic(path.join(outRoot, spec.name, file), fixPatientAge(bytes));
      let study = studies.get(meta.StudyInstanceUID);
      if (!study) {
        study = {
          StudyInstanceUID: meta.StudyInstanceUID,
          StudyDate: meta.StudyDate,
          StudyTime: meta.StudyTime ?? '',
          StudyDescription: meta.StudyDescription,
          PatientName: meta.PatientName,
          PatientID: meta.PatientID,
          AccessionNumber: meta.AccessionNumber ?? '',
          Modalities: meta.Modality,
          NumInstances: 0,
          series: [],
        };
        studies.set(meta.StudyInstanceUID, study);
      }
      let series = study.series.find((s) => s.SeriesInstanceUID === meta.SeriesInstanceUID);
      if (!series) {
        series = {
          SeriesInstanceUID: meta.SeriesInstanceUID,
          SeriesDescription: meta.SeriesDescription,
          SeriesNumber: meta.SeriesNumber,
          Modality: meta.Modality,
          instances: [],
        };
        study.series.push(series);
      }
      series.instances.push({ metadata: meta, url: `${spec.name}/${file}` });
      study.NumInstances += 1;
    }
  }
  const manifest = { studies: [...studies.values()] };
  writeAtomic(path.join(outRoot, 'study.json'), JSON.stringify(manifest, null, 1) + '\n');
  const total = manifest.studies.reduce((n, s) => n + s.NumInstances, 0);
  console.log(
    `make-sample-study: ${manifest.studies.length} studies, ${total} instances in ${path.relative(repo, outRoot)}`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
