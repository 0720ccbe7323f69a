/**
 * Decoders for compressed DICOM pixel data, the same maintained codecs the host viewer (Cornerstone's DICOM image
 * loader) uses, in their plain-JavaScript (asm.js) builds so that one code path works in Node and in the browser
 * without serving .wasm files:
 *   JPEG baseline/extended 8-bit (1.2.840.10008.1.2.4.50/.51)   @cornerstonejs/codec-libjpeg-turbo-8bit
 *   JPEG lossless (.57, .70)                                      @cornerstonejs/jpeg-lossless-decoder-js
 *   JPEG-LS (.80, .81)                                            @cornerstonejs/codec-charls
 *   JPEG 2000 (.90, .91)                                          @cornerstonejs/codec-openjpeg
 *   RLE lossless (1.2.840.10008.1.2.5)                            DICOM PS3.5 Annex G, below (a few lines of PackBits)
 * Deflated transfer syntax (1.2.840.10008.1.2.1.99) is inflated before parsing (pako, in dicomFile.ts).
 * The emscripten modules are loaded on first use and kept.
 */
import { Decoder as LosslessDecoder } from '@cornerstonejs/jpeg-lossless-decoder-js';

export const JPEG_BASELINE = ['1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.4.51'];
export const JPEG_LOSSLESS = ['1.2.840.10008.1.2.4.57', '1.2.840.10008.1.2.4.70'];
export const JPEG_LS = ['1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.81'];
export const JPEG_2000 = ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91'];
export const RLE = '1.2.840.10008.1.2.5';

export const SYNTAX_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.4.50': 'JPEG baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG extended',
  '1.2.840.10008.1.2.4.57': 'JPEG lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG lossless (first-order prediction)',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS near-lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
  '1.2.840.10008.1.2.5': 'RLE lossless',
  '1.2.840.10008.1.2.4.100': 'MPEG-2',
  '1.2.840.10008.1.2.4.102': 'MPEG-4',
  '1.2.840.10008.1.2.4.110': 'JPEG XL',
};

export function isSupportedCompressed(syntax: string): boolean {
  return [...JPEG_BASELINE, ...JPEG_LOSSLESS, ...JPEG_LS, ...JPEG_2000, RLE].includes(syntax);
}

/** What the decoders need to know about the frame. */
export interface FrameLayout {
  rows: number;
  cols: number;
  samples: number;
  bitsAllocated: number;
  signed: boolean;
}

/** Decoded bytes of one frame: little-endian samples, interleaved, `bitsAllocated` wide. */
export type DecodedFrame = Uint8Array;

interface EmscriptenDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  decode(): void;
  delete(): void;
}
type CodecModule = Record<string, new () => EmscriptenDecoder>;
type Factory = (opts?: object) => Promise<CodecModule>;

const modules = new Map<string, Promise<CodecModule>>();

function factoryOf(m: unknown): Factory {
  const f = (m as { default?: unknown }).default ?? m;
  return f as Factory;
}

/** Loaded once; `import()` keeps the codecs out of the module's start-up cost. */
function codec(name: 'charls' | 'libjpeg' | 'openjpeg'): Promise<CodecModule> {
  let p = modules.get(name);
  if (!p) {
    const load =
      name === 'charls'
        ? import('@cornerstonejs/codec-charls/decode')
        : name === 'libjpeg'
          ? import('@cornerstonejs/codec-libjpeg-turbo-8bit/decode')
          : import('@cornerstonejs/codec-openjpeg/decode');
    // print/printErr: openjpeg logs every header it reads; keep the console quiet.
    p = load.then((m) => factoryOf(m)({ print: () => undefined, printErr: () => undefined }));
    modules.set(name, p);
    p.catch(() => modules.delete(name));
  }
  return p;
}

async function runEmscripten(
  name: 'charls' | 'libjpeg' | 'openjpeg',
  cls: string,
  data: Uint8Array,
  layout: FrameLayout,
): Promise<DecodedFrame> {
  const mod = await codec(name);
  const decoder = new mod[cls]();
  try {
    decoder.getEncodedBuffer(data.length).set(data);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width !== layout.cols || info.height !== layout.rows) {
      throw new Error(
        `the compressed frame is ${info.width}x${info.height}, the header says ${layout.cols}x${layout.rows}`,
      );
    }
    if (info.componentCount !== layout.samples) {
      throw new Error(`the compressed frame has ${info.componentCount} components, the header says ${layout.samples}`);
    }
    return Uint8Array.from(decoder.getDecodedBuffer()); // copy out of the emscripten heap
  } finally {
    decoder.delete();
  }
}

function decodeJpegLossless(data: Uint8Array, layout: FrameLayout): DecodedFrame {
  const bytes = layout.bitsAllocated <= 8 ? 1 : 2;
  const out = new LosslessDecoder().decode(data.buffer as ArrayBuffer, data.byteOffset, data.length, bytes);
  const expected = layout.rows * layout.cols * layout.samples;
  if (out.length < expected)
    throw new Error(`JPEG lossless frame decoded to ${out.length} samples, expected ${expected}`);
  return new Uint8Array(out.buffer, out.byteOffset, expected * bytes);
}

/** DICOM RLE (PS3.5 Annex G): one PackBits segment per byte plane, most significant byte first. */
export function decodeRle(data: Uint8Array, layout: FrameLayout): DecodedFrame {
  const bps = layout.bitsAllocated / 8;
  if (!Number.isInteger(bps)) throw new Error(`RLE with BitsAllocated ${layout.bitsAllocated} is not supported`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 64) throw new Error('RLE frame shorter than its 64-byte header');
  const segments = view.getUint32(0, true);
  if (segments !== layout.samples * bps)
    throw new Error(`RLE frame has ${segments} segments, expected ${layout.samples * bps}`);
  const offsets = Array.from({ length: segments }, (_, i) => view.getUint32(4 + 4 * i, true));
  const pixels = layout.rows * layout.cols;
  const out = new Uint8Array(pixels * layout.samples * bps);
  for (let seg = 0; seg < segments; seg++) {
    const sample = Math.floor(seg / bps);
    const byteInSample = bps - 1 - (seg % bps); // little-endian position of this byte plane
    const stride = layout.samples * bps;
    const base = sample * bps + byteInSample;
    let src = offsets[seg];
    const end = seg + 1 < segments ? offsets[seg + 1] : data.length;
    let p = 0;
    while (src < end && p < pixels) {
      const n = (data[src++] << 24) >> 24; // signed header byte
      if (n >= 0) {
        for (let k = 0; k <= n && p < pixels && src < end; k++) out[base + stride * p++] = data[src++];
      } else if (n > -128) {
        const v = data[src++];
        for (let k = 0; k < 1 - n && p < pixels; k++) out[base + stride * p++] = v;
      }
    }
    if (p < pixels) throw new Error(`RLE segment ${seg + 1} of ${segments} ends after ${p} of ${pixels} pixels`);
  }
  return out;
}

/** Decode one compressed frame to little-endian, interleaved samples of `bitsAllocated` bits. */
export async function decodeFrame(syntax: string, data: Uint8Array, layout: FrameLayout): Promise<DecodedFrame> {
  if (syntax === RLE) return decodeRle(data, layout);
  if (JPEG_LOSSLESS.includes(syntax)) return decodeJpegLossless(data, layout);
  if (JPEG_LS.includes(syntax)) return runEmscripten('charls', 'JpegLSDecoder', data, layout);
  if (JPEG_2000.includes(syntax)) return runEmscripten('openjpeg', 'J2KDecoder', data, layout);
  if (JPEG_BASELINE.includes(syntax)) {
    if (layout.bitsAllocated !== 8)
      throw new Error(`${SYNTAX_NAMES[syntax]} with ${layout.bitsAllocated}-bit samples is not supported (8-bit only)`);
    return runEmscripten('libjpeg', 'JPEGDecoder', data, layout);
  }
  throw new Error(
    `transfer syntax ${syntax}${SYNTAX_NAMES[syntax] ? ` (${SYNTAX_NAMES[syntax]})` : ''} is not supported`,
  );
}
