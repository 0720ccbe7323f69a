/** The viewer's inference module on a real exported model: verification, loading paths, classify, backend choice, leaks. */
import * as fs from 'node:fs';
import * as path from 'node:path';

import * as tf from '@tensorflow/tfjs';

import { backendCandidates, isSoftwareRenderer } from '../../extension/src/inference/backend';
import { classify, fromLayersModel, loadModel, predictBatch } from '../../extension/src/inference/classifier';
import { readDicomSlices, DicomReadError } from '../../extension/src/inference/dicomFile';
import { fsSource } from '../../extension/src/inference/node/fsSource';
import { preprocess } from '../../extension/src/inference/preprocess';
import { IntegrityError, sha256Hex } from '../../extension/src/inference/sha256';
import type { FetchLike } from '../../extension/src/inference/source';
import type { ModelCard } from '../../extension/src/inference/types';
import { decodeJpeg } from '../../extension/src/inference/node/imageFile';
import { FIXTURES, exportModel, randomCheckpoint, readJson, tmpDir } from './inferenceFixtures';

let work: string;
let modelDir: string;

beforeAll(() => {
  work = tmpDir('inference');
  modelDir = exportModel(randomCheckpoint(work, 32), path.join(work, 'model'), 'inf-1');
}, 120_000);
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function copyModel(name: string): string {
  const dir = path.join(work, name);
  fs.cpSync(modelDir, dir, { recursive: true });
  return dir;
}

function flipByte(file: string, at = 100): void {
  const b = fs.readFileSync(file);
  b[at] ^= 0xff;
  fs.writeFileSync(file, b);
}

/** fetch over the file system, recording every request. */
function fileFetch(root: string, log: { url: string; cache?: string }[]): FetchLike {
  return async (url, init) => {
    log.push({ url, cache: init?.cache });
    const p = path.join(root, url.replace(/^https:\/\/models\.example\//, ''));
    if (!fs.existsSync(p))
      return { ok: false, status: 404, statusText: 'Not Found', arrayBuffer: async () => new ArrayBuffer(0) };
    const b = fs.readFileSync(p);
    return {
      ok: true,
      status: 200,
      arrayBuffer: async () => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength),
    };
  };
}

describe('loading and verification', () => {
  test('loads a model folder, warms up, and classifies a real JPEG and a real DICOM slice', async () => {
    const loaded = await loadModel({ source: fsSource(modelDir), backend: 'wasm' });
    expect(loaded.version).toBe('inf-1');
    expect(loaded.backend).toBe('wasm');
    const jpeg = decodeJpeg(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'jpeg', 'glioma-tr-Tr-gl_0020.jpg'))));
    const dicom = readDicomSlices(
      new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'dicom', 'studyforrest-N2D_0189.dcm'))),
    )[0];
    for (const slice of [jpeg, dicom]) {
      const r = await classify(loaded, slice);
      expect(r.classes).toEqual(['glioma', 'meningioma', 'notumor', 'pituitary']);
      expect(r.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(r.top.probability).toBe(Math.max(...r.probabilities));
      expect(r.modelVersion).toBe('inf-1');
      // classify = preprocess as the card says + the model
      const [direct] = await predictBatch(loaded, preprocess(slice, loaded.card.preprocess), 1);
      expect(r.probabilities).toEqual(direct);
    }
    loaded.model.dispose();
  });

  test('a tampered shard is refused, naming the file', async () => {
    const dir = copyModel('bad-shard');
    const manifest = readJson<{ weightsManifest: { paths: string[] }[] }>(path.join(dir, 'model.json'));
    const shard = manifest.weightsManifest[0].paths[1];
    flipByte(path.join(dir, shard));
    await expect(loadModel({ source: fsSource(dir), backend: 'wasm' })).rejects.toThrow(IntegrityError);
    await expect(loadModel({ source: fsSource(dir), backend: 'wasm' })).rejects.toThrow(
      new RegExp(`SHA-256 mismatch for ${shard}`),
    );
  });

  test('a tampered model.json is refused', async () => {
    const dir = copyModel('bad-json');
    const p = path.join(dir, 'model.json');
    const original = fs.readFileSync(p, 'utf8');
    // A changed layer setting (a ReLU taken out of the stem), the kind of edit that would alter every answer.
    const tampered = original.replace('"activation": "relu"', '"activation": "linear"');
    expect(tampered).not.toBe(original);
    fs.writeFileSync(p, tampered);
    await expect(loadModel({ source: fsSource(dir), backend: 'wasm' })).rejects.toThrow(
      /SHA-256 mismatch for model.json/,
    );
  });

  test('a shard missing from the card is refused', async () => {
    const dir = copyModel('unlisted');
    const cardPath = path.join(dir, 'model-card.json');
    const card = readJson<ModelCard>(cardPath);
    delete card.files['group1-shard1of11.bin'];
    fs.writeFileSync(cardPath, JSON.stringify(card));
    await expect(loadModel({ source: fsSource(dir), backend: 'wasm' })).rejects.toThrow(
      /group1-shard1of11.bin.*not listed/,
    );
  });

  test('registry and shard paths are confined: ../ in models.json or model.json is refused (issue 17 item 2)', async () => {
    const registry = path.join(work, 'hostile-registry');
    fs.mkdirSync(registry, { recursive: true });
    fs.cpSync(modelDir, path.join(registry, 'ok'), { recursive: true });
    const index = (entry: { version: string; path?: string }): void =>
      fs.writeFileSync(
        path.join(registry, 'models.json'),
        JSON.stringify({ latest: entry.version, versions: [{ card_sha256: '0'.repeat(64), ...entry }] }),
      );
    index({ version: 'x', path: '../outside' });
    await expect(loadModel({ source: fsSource(registry), backend: 'wasm' })).rejects.toThrow(
      /version "x" has folder "..\/outside"; a version must be one plain folder name/,
    );
    index({ version: 'x', path: 'ok/../../outside' });
    await expect(loadModel({ source: fsSource(registry), backend: 'wasm' })).rejects.toThrow(
      /a version must be one plain folder name inside the registry/,
    );
    index({ version: '../x' });
    await expect(loadModel({ source: fsSource(registry), backend: 'wasm' })).rejects.toThrow(
      /version "..\/x" has folder "..\/x"/,
    );
    index({ version: 'x\n', path: 'x\n' });
    await expect(loadModel({ source: fsSource(registry), backend: 'wasm' })).rejects.toThrow(
      /a version must be one plain folder name/,
    );
    expect(() => fsSource(registry).sub('../..')).toThrow(/path escapes/);

    // A model.json naming a weight file outside the folder (its hash updated in the card): refused before reading it.
    const dir = copyModel('escaping-shard');
    const mj = readJson<{ weightsManifest: { paths: string[] }[] }>(path.join(dir, 'model.json'));
    mj.weightsManifest[0].paths[0] = '../group1-shard1of11.bin';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(mj));
    const card = readJson<ModelCard>(path.join(dir, 'model-card.json'));
    card.files['model.json'] = await sha256Hex(new Uint8Array(fs.readFileSync(path.join(dir, 'model.json'))));
    card.files['../group1-shard1of11.bin'] = card.files['group1-shard1of11.bin'];
    fs.writeFileSync(path.join(dir, 'model-card.json'), JSON.stringify(card));
    await expect(loadModel({ source: fsSource(dir), backend: 'wasm' })).rejects.toThrow(
      /weight file "..\/group1-shard1of11.bin" is not a shard name of this format/,
    );
  });

  test('a folder that is neither a registry nor a model is refused clearly', async () => {
    await expect(loadModel({ source: fsSource(path.join(work, 'nothing-here')) })).rejects.toThrow(
      /neither models.json .* nor model-card.json/,
    );
  });

  test('over HTTP: index fetched fresh, every file fetched once', async () => {
    const log: { url: string; cache?: string }[] = [];
    const loaded = await loadModel({
      url: 'https://models.example/model',
      fetch: fileFetch(work, log),
      backend: 'wasm',
    });
    expect(loaded.version).toBe('inf-1');
    const urls = log.map((l) => l.url);
    expect(new Set(urls).size).toBe(urls.length);
    const shards = Object.keys(loaded.card.files).filter((f) => f.endsWith('.bin') && !f.startsWith('parity/'));
    expect(urls).toEqual(expect.arrayContaining(shards.map((s) => `https://models.example/model/${s}`)));
    expect(log.find((l) => l.url.endsWith('/models.json'))?.cache).toBe('no-cache');
    loaded.model.dispose();
  });
});

describe('backend choice', () => {
  test('hardware WebGL -> webgl; software or missing WebGL -> wasm; configuration wins', () => {
    expect(backendCandidates('auto', 'ANGLE (NVIDIA, NVIDIA GeForce RTX 3060 Direct3D11)').order[0]).toBe('webgl');
    expect(backendCandidates('auto', 'Google SwiftShader').order[0]).toBe('wasm');
    expect(backendCandidates('auto', 'llvmpipe (LLVM 15.0.6, 256 bits)').order[0]).toBe('wasm');
    expect(backendCandidates('auto', null).order[0]).toBe('wasm');
    expect(backendCandidates('cpu', 'Apple M2').order[0]).toBe('cpu');
    expect(isSoftwareRenderer('ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)')).toBe(
      true,
    );
  });
});

describe('DICOM reader errors', () => {
  test('non-DICOM bytes and DICOM without pixel data give clear errors', () => {
    expect(() =>
      readDicomSlices(new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'jpeg', 'glioma-tr-Tr-gl_0020.jpg')))),
    ).toThrow(DicomReadError);
    const bytes = new Uint8Array(fs.readFileSync(path.join(FIXTURES, 'dicom', 'studyforrest-N2D_0189.dcm')));
    // Cut the file just before the pixel data element: a header-only object.
    const at = Buffer.from(bytes).lastIndexOf(Buffer.from([0xe0, 0x7f, 0x10, 0x00]));
    expect(() => readDicomSlices(bytes.slice(0, at))).toThrow(/no pixel data/);
  });
});

describe('no tensor leak', () => {
  test('numTensors is stable over 1,000 classify calls', async () => {
    await tf.setBackend('wasm');
    const input = tf.input({ shape: [16, 16, 1] });
    const x = tf.layers
      .conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' })
      .apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    const out = tf.layers.dense({ units: 4, activation: 'softmax' }).apply(pooled) as tf.SymbolicTensor;
    const card = { ...readJson<ModelCard>(path.join(modelDir, 'model-card.json')) };
    card.preprocess = { ...card.preprocess, input_size: 16 };
    const loaded = fromLayersModel(tf.model({ inputs: input, outputs: out }), card);
    const slice = { data: Uint16Array.from({ length: 40 * 30 }, (_, i) => (i * 37) % 4096), width: 40, height: 30 };
    await classify(loaded, slice);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 1000; i++) await classify(loaded, slice);
    expect(tf.memory().numTensors).toBe(before);
    loaded.model.dispose();
  });
});
