/** The evaluator's data: which files with which labels (class folders or a manifest CSV). Decoding: inference/node/imageFile. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { DICOM_EXTENSIONS, RASTER_EXTENSIONS, readSlices } from '../../extension/src/inference/node/imageFile';

export { readSlices };

export interface Sample {
  file: string;
  label: string;
}

function isImageFile(name: string): boolean {
  const ext = path.extname(name).toLowerCase();
  return RASTER_EXTENSIONS.has(ext) || DICOM_EXTENSIONS.has(ext);
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
        if (ch === '"' && line[i + 1] === '"') {
          cur += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else cur += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        cells.push(cur);
        cur = '';
      } else cur += ch;
    }
    cells.push(cur);
    return cells;
  };
  const header = split(lines[0] ?? '').map((h) => h.trim());
  return lines.slice(1).map((l) => Object.fromEntries(split(l).map((v, i) => [header[i], v.trim()])));
}

/**
 * Samples from a folder of class subfolders (label = first-level folder name) or a manifest CSV with
 * columns file,label[,split] (files relative to the CSV). `split` filters on the CSV's split column: one name or
 * several separated by commas, matched exactly; an unknown name is an error that lists the CSV's splits.
 */
export function listSamples(data: string, split?: string): Sample[] {
  const stat = fs.statSync(data, { throwIfNoEntry: false });
  if (!stat) throw new Error(`${data}: no such file or folder`);
  if (stat.isDirectory()) {
    if (split) throw new Error('--split needs a manifest CSV with a split column, not a folder');
    const classes = fs
      .readdirSync(data, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'));
    if (!classes.length) throw new Error(`${data}: expected one subfolder per class`);
    return classes
      .map((c) => c.name)
      .sort()
      .flatMap((label) => walk(path.join(data, label)).map((file) => ({ file, label })));
  }
  let rows = parseCsv(fs.readFileSync(data, 'utf8'));
  if (rows.length && (!('file' in rows[0]) || !('label' in rows[0])))
    throw new Error(`${data}: CSV needs file and label columns`);
  if (split && rows.length && !('split' in rows[0]))
    throw new Error(`${data}: --split given but the CSV has no split column`);
  const base = path.dirname(data);
  if (split) {
    // Matched exactly: a near miss ("Test") is an error naming the splits the CSV has, never an empty or partial run.
    const known = [...new Set(rows.map((r) => r.split))].sort();
    const wanted = split.split(',').map((x) => x.trim());
    const unknown = wanted.filter((w) => !known.includes(w));
    if (unknown.length)
      throw new Error(
        `${data}: no split ${unknown.map((u) => `'${u}'`).join(', ')} (splits in this CSV: ${known.join(', ')}; names match exactly)`,
      );
    rows = rows.filter((r) => wanted.includes(r.split));
  }
  return rows.map((r) => ({ file: path.resolve(base, r.file), label: r.label }));
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
