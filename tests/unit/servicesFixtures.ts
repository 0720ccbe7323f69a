/**
 * Shared by the service tests: a real registry (random 64 px models exported and published by the Python trainer),
 * the real inference core on tfjs wasm in Node behind the main-thread engine, a counting models.json fetch, and a
 * stand-in viewer host serving the seven real DICOM slices of the sample T2 series.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InferenceCore, withIndex } from '../../extension/src/engine/core';
import { MainThreadEngine } from '../../extension/src/engine/client';
import type { InferenceEngine } from '../../extension/src/engine/types';
import { readDicomSlices } from '../../extension/src/inference/dicomFile';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import type { ArtifactSource } from '../../extension/src/inference/source';
import type { DicomAttributes } from '../../extension/src/inference/inRange';
import type { BackendPreference } from '../../extension/src/inference/backend';
import { ModelService } from '../../extension/src/services/ModelService';
import { ClassificationService } from '../../extension/src/services/ClassificationService';
import type { ViewerHost } from '../../extension/src/host/ohifHost';
import type { ViewerState } from '../../extension/src/viewerState';
import { exportModel, python, randomCheckpoint } from './inferenceFixtures';

export const SAMPLE = path.join(__dirname, '../../demo/sample-study');
const study = JSON.parse(fs.readFileSync(path.join(SAMPLE, 'study.json'), 'utf8'));
export const adi = study.studies[0];
export const instances: { url: string; metadata: { SOPInstanceUID: string } }[] = adi.series[0].instances;
export const AXIAL = [1, 0, 0, 0, 1, 0];
export const SAGITTAL = [0, 1, 0, 0, 0, -1];

export const readSlice = (i: number) =>
  readDicomSlices(new Uint8Array(fs.readFileSync(path.join(SAMPLE, instances[i].url))))[0];

/** Exports a random model and publishes it into `registry` (a folder); returns the version. */
export function publishRandom(work: string, registry: string, version: string, seed = 0, corrupt = false): string {
  const dir = exportModel(randomCheckpoint(work, 64, seed), path.join(work, version), version);
  python(['-m', 'ssclnet.cli', 'publish', '--registry', registry, '--model', dir]);
  if (corrupt) {
    const shard = fs.readdirSync(path.join(registry, version)).find((f) => f.endsWith('.bin'))!;
    const p = path.join(registry, version, shard);
    const b = fs.readFileSync(p);
    b[10] ^= 0xff;
    fs.writeFileSync(p, b);
  }
  return version;
}

/** A folder source that counts reads of models.json (the engine must never need one: the service passes it). */
function countingSource(dir: string, counts: { index: number }): ArtifactSource {
  const base = fsSource(dir);
  const wrap = (s: ArtifactSource): ArtifactSource => ({
    location: s.location,
    read: (p, o) => {
      if (p === 'models.json') counts.index++;
      return s.read(p, o);
    },
    sub: (p) => wrap(s.sub(p)),
  });
  return wrap(base);
}

export interface Fixture {
  modelService: ModelService;
  classification: ClassificationService;
  engine: InferenceEngine & { calls: number };
  /** URLs of models.json fetched by the model service. */
  fetches: string[];
  /** models.json reads by the engine itself (must stay 0). */
  engineIndexReads: { index: number };
  host: FakeHost;
}

export interface FakeHost extends ViewerHost {
  /** 0-based index of the displayed slice. */
  displayed: number;
  attributes: (i: number) => DicomAttributes | null;
  failAt: number | null;
  emit: (state: ViewerState) => void;
  tracking: () => number;
}

export function fakeHost(): FakeHost {
  let listener: ((s: ViewerState) => void) | null = null;
  let tracking = 0;
  const identity = (i: number) => ({
    studyInstanceUID: adi.StudyInstanceUID,
    seriesInstanceUID: adi.series[0].SeriesInstanceUID,
    sopInstanceUID: instances[i].metadata.SOPInstanceUID,
    frame: 0,
    sliceIndex: i,
    sliceCount: instances.length,
    imageId: instances[i].url,
  });
  const host: FakeHost = {
    displayed: 0,
    failAt: null,
    attributes: () => ({ Modality: 'MR', ImageOrientationPatient: AXIAL }),
    emit: (s) => listener?.(s),
    tracking: () => tracking,
    trackViewer: (onChange) => {
      listener = onChange;
      tracking++;
      return () => {
        listener = null;
        tracking--;
      };
    },
    readDisplayedSlice: () => ({
      raw: readSlice(host.displayed),
      identity: identity(host.displayed),
      viewportId: 'vp1',
      kind: 'stack',
      attributes: host.attributes(host.displayed),
    }),
    seriesSource: () => ({
      viewportId: 'vp1',
      seriesInstanceUID: adi.series[0].SeriesInstanceUID,
      count: instances.length,
      load: async (i) => {
        if (i === host.failAt) throw new Error('pixel data missing');
        return { raw: readSlice(i), identity: identity(i), attributes: host.attributes(i) };
      },
    }),
    jumpToSlice: async (_vp, i) => {
      host.displayed = i;
    },
    viewportElement: () => null,
  };
  return host;
}

export function makeServices(registry: string, options: { backend?: BackendPreference } = {}): Fixture {
  const fetches: string[] = [];
  const engineIndexReads = { index: 0 };
  const fetch = async (url: string) => {
    fetches.push(url);
    const f = path.join(registry, 'models.json');
    if (!fs.existsSync(f)) return { status: 404, ok: false };
    return { status: 200, ok: true, text: async () => fs.readFileSync(f, 'utf8') };
  };
  const core = new InferenceCore('main', (_url, text) => withIndex(countingSource(registry, engineIndexReads), text));
  const inner = new MainThreadEngine('inline://ssclnet-inference.js', async () => ({
    createInferenceCore: () => core,
  }));
  const engine = Object.assign(Object.create(inner) as InferenceEngine, { calls: 0 }) as InferenceEngine & {
    calls: number;
  };
  engine.classify = (r) => {
    engine.calls++;
    return inner.classify(r);
  };
  const modelService = new ModelService({
    config: { modelsUrl: '/models/', wasmPaths: '', backend: options.backend ?? 'wasm' },
    engine,
    fetch,
  });
  const host = fakeHost();
  const classification = new ClassificationService({ modelService, host, autoDebounceMs: 5 });
  return { modelService, classification, engine, fetches, engineIndexReads, host };
}

/** Event names received, in order. */
export function record(
  service: { EVENTS: Record<string, string>; subscribe: (e: string, cb: (p: unknown) => void) => unknown },
  skip: string[] = [],
) {
  const seen: { event: string; payload: unknown }[] = [];
  for (const [key, name] of Object.entries(service.EVENTS)) {
    if (!skip.includes(key)) service.subscribe(name, (payload) => seen.push({ event: key, payload }));
  }
  return seen;
}
