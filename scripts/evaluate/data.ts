/** The evaluator's data: which files with which labels, and decoding them into raw slices (JPEG, PNG, DICOM). */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

import { readDicomSlices } from '../../extension/src/inference/dicomFile';
import type { RawSlice } from '../../extension/src/inference/types';

export interface Sample {
  file: string;
  label: string;
}

const RASTER = new Set(['.jpg', '.jpeg', '.png']);
const DICOM = new Set(['.dcm', '.dicom', '']);

function isImageFile(name: string): boolean {
  const ext = path.extname(name).toLowerCase();
  return RASTER.has(ext) || DICOM.has(ext);
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    const stat = entry.isSymbolicLink() ? fs.statSync(p, { throwIfNoEntry: false }) : entry;
    if (stat?.isDirectory()) out.push(...walk(p));
    else if (stat?.isFile() && isImageFile(entry.name)) out.push(p);
  }
  return out;
}

/** Minimal CSV (comma-separated, optional double quotes, no embedded newlines): enough for manifests. */
export function parseCsv(text: string): Record<string, string>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  const split = (line: string): string[] => {
    const cells: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i];
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') (cur += '"'), i++;
        else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') cells.push(cur), (cur = '');
      else cur += ch;
    }
    cells.push(cur);
    return cells;
  };
  const header = split(lines[0] ?? '').map((h) => h.trim());
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [header[i], v.trim()])));
}

/**
 * Samples from a folder of class subfolders (label = first-level folder name) or a manifest CSV with
 * columns file,label[,split] (files relative to the CSV). `split` filters on the CSV's split column.
 */
export function listSamples(data: string, split?: string): Sample[] {
  const stat = fs.statSync(data, { throwIfNoEntry: false });
  if (!stat) throw new Error(`${data}: no such file or folder`);
  if (stat.isDirectory()) {
    if (split) throw new Error('--split needs a manifest CSV with a split column, not a folder');
    const classes = fs.readdirSync(data, { withFileTypes: true }).filter((e) => e.isDirectory() && !e.name.startsWith('.'));
    if (!classes.length) throw new Error(`${data}: expected one subfolder per class`);
    return classes
      .map((c) => c.name)
      .sort()
      .flatMap((label) => walk(path.join(data, label)).map((file) => ({ file, label })));
  }
  const rows = parseCsv(fs.readFileSync(data, 'utf8'));
  if (rows.length && (!('file' in rows[0]) || !('label' in rows[0]))) throw new Error(`${data}: CSV needs file and label columns`);
  if (split && rows.length && !('split' in rows[0])) throw new Error(`${data}: --split given but the CSV has no split column`);
  const base = path.dirname(data);
  return rows.filter((r) => !split || r.split === split).map((r) => ({ file: path.resolve(base, r.file), label: r.label }));
}

/** At most `limit` samples, taken round-robin over labels so that every class is represented. */
export function limitSamples(samples: Sample[], limit?: number): Sample[] {
  if (!limit || limit >= samples.length) return samples;
  const byLabel = new Map<string, Sample[]>();
  for (const s of samples) byLabel.set(s.label, [...(byLabel.get(s.label) ?? []), s]);
  const queues = [...byLabel.values()];
  const out: Sample[] = [];
  for (let i = 0; out.length < limit; i++) {
    for (const q of queues) if (i < q.length && out.length < limit) out.push(q[i]);
  }
  return out;
}

function isDicomBytes(bytes: Uint8Array): boolean {
  return bytes.length > 132 && String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM';
}

/** A decoded JPEG whose three channels are equal is grayscale (jpeg-js expands 1-component JPEGs to RGB). */
function grayIfEqual(rgb: Uint8Array, width: number, height: number): RawSlice {
  const n = width * height;
  for (let i = 0; i < n; i++) {
    if (rgb[3 * i] !== rgb[3 * i + 1] || rgb[3 * i] !== rgb[3 * i + 2]) return { data: rgb, width, height, channels: 3 };
  }
  const gray = new Uint8Array(n);
  for (let i = 0; i < n; i++) gray[i] = rgb[3 * i];
  return { data: gray, width, height, channels: 1 };
}

export function decodeJpeg(bytes: Uint8Array): RawSlice {
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 512 });
  return grayIfEqual(img.data as Uint8Array, img.width, img.height);
}

export function decodePng(bytes: Uint8Array): RawSlice {
  const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), { skipRescale: true });
  // pngjs gives RGBA; 16-bit data comes as a Uint16Array when not rescaled.
  const rgba = png.data as unknown as ArrayLike<number>;
  const n = png.width * png.height;
  const gray = png.colorType === 0 || png.colorType === 4;
  if (gray) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = rgba[4 * i];
    return { data: out, width: png.width, height: png.height, channels: 1 };
  }
  return { data: rgba, width: png.width, height: png.height, channels: 4 };
}

/** Every slice of a file (several for a multi-frame DICOM); throws with a reason when it can't be read. */
export function readSlices(file: string): RawSlice[] {
  const bytes = new Uint8Array(fs.readFileSync(file));
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jpg' || ext === '.jpeg') return [decodeJpeg(bytes)];
  if (ext === '.png') return [decodePng(bytes)];
  if (DICOM.has(ext) || isDicomBytes(bytes)) return readDicomSlices(bytes);
  throw new Error('unsupported file type (JPEG, PNG or DICOM)');
}
