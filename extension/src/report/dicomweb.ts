/**
 * A small DICOMweb client for the report: STOW-RS (store) and QIDO-RS + WADO-RS (find prior results). It takes a
 * fetch function (the browser's, Node's, or a test double), so it has no OHIF dependency; in the viewer the root is
 * the server's proxy (`/dicom-web`).
 */
import { isOurSR, parseClassificationSR, fromDicomJson, readPart10 } from './parse';
import type { ParsedReport } from './types';

export type FetchFn = (
  url: string,
  init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: Uint8Array | ArrayBuffer | string;
    signal?: AbortSignal;
  },
) => Promise<{
  ok: boolean;
  status: number;
  statusText?: string;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export type StoreErrorKind = 'network' | 'rejected' | 'client' | 'server' | 'bad-response';

/** A failed store, with a message for the user. `stored`: instances the PACS did accept (when it said so). */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly kind: StoreErrorKind,
    readonly status: number | null = null,
    readonly stored: string[] = [],
    readonly failed: { sopInstanceUID: string; reason: string }[] = [],
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

export interface StoreProgress {
  phase: 'sending' | 'waiting' | 'done' | 'failed';
  /** Bytes in the request body. */
  bytes: number;
  instances: number;
}

export interface StoreResult {
  /** SOP Instance UIDs the PACS reports as stored (ReferencedSOPSequence), in its order. */
  stored: string[];
  /** Warnings the PACS attached (Warning Reason), e.g. coerced attributes; empty normally. */
  warnings: string[];
  status: number;
  /** Retrieve URL of the study, when the PACS gave one. */
  retrieveURL: string | null;
}

const FAILURE_REASONS: Record<number, string> = {
  0x0110: 'processing failure',
  0x0112: 'no such object instance',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'referenced transfer syntax not supported',
  0xc123: 'transfer syntax not supported',
};

const WARNING_REASONS: Record<number, string> = {
  0xb000: 'coercion of data elements',
  0xb006: 'elements discarded',
  0xb007: 'data set does not match SOP class',
};

const trimRoot = (root: string): string => root.replace(/\/+$/, '');

function concat(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function randomBoundary(): string {
  const bytes = new Uint8Array(12);
  const c = globalThis.crypto as Crypto | undefined;
  if (c?.getRandomValues) c.getRandomValues(bytes);
  else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
  return `ssclnet-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/** The multipart/related body of a STOW-RS request (PS3.18 10.5): one application/dicom part per instance. */
export function stowBody(buffers: (ArrayBuffer | Uint8Array)[], boundary: string): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  for (const b of buffers) {
    parts.push(enc.encode(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`));
    parts.push(b instanceof Uint8Array ? b : new Uint8Array(b));
    parts.push(enc.encode('\r\n'));
  }
  parts.push(enc.encode(`--${boundary}--\r\n`));
  return concat(parts);
}

const tagValues = (obj: unknown, tag: string): Record<string, unknown>[] => {
  const el = (obj as Record<string, { Value?: unknown[] }> | null)?.[tag];
  return Array.isArray(el?.Value) ? (el!.Value as Record<string, unknown>[]) : [];
};
const tagString = (obj: unknown, tag: string): string => String(tagValues(obj, tag)[0] ?? '');
const tagNumber = (obj: unknown, tag: string): number | null => {
  const v = tagValues(obj, tag)[0] as unknown;
  return typeof v === 'number' ? v : v == null ? null : Number(v);
};

function readStoreResponse(text: string): {
  stored: string[];
  failed: { sopInstanceUID: string; reason: string }[];
  warnings: string[];
  retrieveURL: string | null;
} | null {
  if (!text.trim()) return { stored: [], failed: [], warnings: [], retrieveURL: null };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return null;
  }
  if (Array.isArray(body)) body = body[0];
  const stored = tagValues(body, '00081199').map((it) => tagString(it, '00081155'));
  const warnings: string[] = [];
  for (const it of tagValues(body, '00081199')) {
    const w = tagNumber(it, '00081196');
    if (w) warnings.push(`${tagString(it, '00081155')}: ${WARNING_REASONS[w] ?? `warning 0x${w.toString(16)}`}`);
  }
  const top = tagNumber(body, '00081196');
  if (top) warnings.push(WARNING_REASONS[top] ?? `warning 0x${top.toString(16)}`);
  const failed = tagValues(body, '00081198').map((it) => {
    const r = tagNumber(it, '00081197');
    return {
      sopInstanceUID: tagString(it, '00081155'),
      reason: r == null ? 'no reason given' : (FAILURE_REASONS[r] ?? `failure 0x${r.toString(16)}`),
    };
  });
  return { stored, failed, warnings, retrieveURL: tagString(body, '00081190') || null };
}

function excerpt(text: string): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/**
 * Stores instances with one STOW-RS request (`POST {root}/studies`, multipart/related; type="application/dicom").
 * Pass one SR per call: a single instance is stored whole or not at all, so a failure never leaves half a report.
 * Throws StoreError with a message for the user on network failure, 4xx, 5xx, a FailedSOPSequence, or an answer that
 * does not confirm every instance. `onProgress` reports the phases (fetch gives no upload byte progress).
 */
export async function storeInstances(
  fetchFn: FetchFn,
  root: string,
  buffers: (ArrayBuffer | Uint8Array)[],
  options: { onProgress?: (p: StoreProgress) => void; signal?: AbortSignal; expectedSOPInstanceUIDs?: string[] } = {},
): Promise<StoreResult> {
  if (!buffers.length) throw new StoreError('Nothing to store.', 'client');
  const url = `${trimRoot(root)}/studies`;
  const boundary = randomBoundary();
  const body = stowBody(buffers, boundary);
  const progress = (phase: StoreProgress['phase']): void =>
    options.onProgress?.({ phase, bytes: body.length, instances: buffers.length });
  progress('sending');
  let res: Awaited<ReturnType<FetchFn>>;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      headers: {
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        Accept: 'application/dicom+json',
      },
      body,
      signal: options.signal,
    });
  } catch (e) {
    progress('failed');
    const why = e instanceof Error ? e.message : String(e);
    throw new StoreError(
      `The PACS did not answer at ${trimRoot(root)} (${why}). Nothing was stored; try again when it is reachable.`,
      'network',
    );
  }
  progress('waiting');
  const text = await res.text().catch(() => '');
  const parsed = readStoreResponse(text);
  if (!res.ok && res.status !== 202) {
    progress('failed');
    // a DICOM JSON body without failure reasons says nothing a user can act on (Orthanc answers 400 with an empty
    // FailedSOPSequence to a file it cannot parse); a text body (a proxy's or server's message) is quoted
    const detail = parsed?.failed.length
      ? `: ${parsed.failed.map((f) => f.reason).join(', ')}`
      : !parsed && text
        ? `: ${excerpt(text)}`
        : '';
    const s = res.status;
    if (s === 401 || s === 403)
      throw new StoreError(
        `The PACS refused to store the report (HTTP ${s}): this data source is read-only for this viewer or needs credentials. Nothing was stored.`,
        'client',
        s,
      );
    if (s === 404 || s === 405 || s === 501)
      throw new StoreError(
        `This DICOMweb server does not accept uploads at ${url} (HTTP ${s}): the data source is read-only (no STOW-RS). Nothing was stored.`,
        'client',
        s,
      );
    if (s === 409) {
      throw new StoreError(
        `The PACS rejected the report (HTTP 409${detail}). Nothing was stored.`,
        'rejected',
        s,
        parsed?.stored ?? [],
        parsed?.failed ?? [],
      );
    }
    if (s === 413)
      throw new StoreError(`The report is too large for this PACS (HTTP 413). Nothing was stored.`, 'client', s);
    if (s === 415)
      throw new StoreError(
        `The PACS does not accept DICOM Part-10 uploads (HTTP 415${detail}). Nothing was stored.`,
        'client',
        s,
      );
    if (s === 502 || s === 503 || s === 504)
      throw new StoreError(
        `The PACS is unreachable or busy (HTTP ${s}${detail}). Nothing was stored; try again later.`,
        'server',
        s,
      );
    if (s >= 500)
      throw new StoreError(
        `The PACS failed while storing the report (HTTP ${s}${detail}). Nothing was stored.`,
        'server',
        s,
      );
    if (s === 400)
      throw new StoreError(
        `The PACS could not accept the report as sent (HTTP 400${detail}). Nothing was stored.`,
        'client',
        s,
        [],
        parsed?.failed ?? [],
      );
    throw new StoreError(`The PACS refused the request (HTTP ${s}${detail}). Nothing was stored.`, 'client', s);
  }
  if (!parsed) {
    progress('failed');
    throw new StoreError(
      `The PACS answered HTTP ${res.status} with a body that is not DICOM JSON (${excerpt(text)}); whether the report was stored is unknown.`,
      'bad-response',
      res.status,
    );
  }
  if (parsed.failed.length) {
    progress('failed');
    const list = parsed.failed.map((f) => `${f.sopInstanceUID || 'an instance'}: ${f.reason}`).join('; ');
    const half = parsed.stored.length
      ? ` ${parsed.stored.length} other instance(s) of the same request were stored.`
      : ' Nothing was stored.';
    throw new StoreError(
      `The PACS rejected the report (${list}).${half}`,
      'rejected',
      res.status,
      parsed.stored,
      parsed.failed,
    );
  }
  const expected = options.expectedSOPInstanceUIDs ?? [];
  const missing = expected.filter((u) => !parsed.stored.includes(u));
  if (expected.length && missing.length && parsed.stored.length) {
    progress('failed');
    throw new StoreError(`The PACS did not confirm ${missing.join(', ')}.`, 'bad-response', res.status, parsed.stored);
  }
  progress('done');
  return { stored: parsed.stored, warnings: parsed.warnings, status: res.status, retrieveURL: parsed.retrieveURL };
}

// ---------------------------------------------------------------- prior results

export interface PriorResults {
  /** Our reports, newest first (ContentDate/ContentTime). */
  reports: ParsedReport[];
  /** SR instances of this algorithm that could not be read, with why. */
  skipped: { sopInstanceUID: string; reason: string }[];
}

async function getJson(fetchFn: FetchFn, url: string, signal?: AbortSignal): Promise<unknown[]> {
  let res: Awaited<ReturnType<FetchFn>>;
  try {
    res = await fetchFn(url, { headers: { Accept: 'application/dicom+json' }, signal });
  } catch (e) {
    throw new Error(
      `The PACS did not answer (${e instanceof Error ? e.message : String(e)}): prior results could not be looked up.`,
    );
  }
  if (res.status === 204) return [];
  const text = await res.text();
  if (!res.ok) throw new Error(`The PACS answered HTTP ${res.status} to ${url}${text ? `: ${excerpt(text)}` : ''}`);
  if (!text.trim()) return [];
  const body = JSON.parse(text);
  return Array.isArray(body) ? body : [];
}

/** Splits a multipart/related body into its parts' bytes (WADO-RS instance retrieval). */
export function multipartParts(bytes: Uint8Array, contentType: string): Uint8Array[] {
  const m = /boundary="?([^";]+)"?/i.exec(contentType);
  if (!m) return [bytes];
  const delim = new TextEncoder().encode(`--${m[1]}`);
  const indexOf = (from: number): number => {
    outer: for (let i = from; i <= bytes.length - delim.length; i++) {
      for (let j = 0; j < delim.length; j++) if (bytes[i + j] !== delim[j]) continue outer;
      return i;
    }
    return -1;
  };
  const parts: Uint8Array[] = [];
  let at = indexOf(0);
  while (at >= 0) {
    const next = indexOf(at + delim.length);
    if (next < 0) break;
    const chunk = bytes.subarray(at + delim.length, next);
    // headers end at the first CRLFCRLF; the part ends before the CRLF preceding the next delimiter
    let h = -1;
    for (let i = 0; i + 3 < chunk.length; i++)
      if (chunk[i] === 13 && chunk[i + 1] === 10 && chunk[i + 2] === 13 && chunk[i + 3] === 10) {
        h = i + 4;
        break;
      }
    if (h >= 0) {
      let end = chunk.length;
      if (chunk[end - 2] === 13 && chunk[end - 1] === 10) end -= 2;
      parts.push(chunk.subarray(h, end));
    }
    at = next;
  }
  return parts;
}

/**
 * Finds this algorithm's earlier SRs in a study: QIDO-RS `/studies/{uid}/series?Modality=SR`, then each SR series'
 * WADO-RS metadata (the content tree is in it); when a PACS leaves the content out of the metadata, the instance
 * itself is retrieved. Returns the parsed reports newest first; unreadable SRs of ours are listed in `skipped`.
 */
export async function findPriorResults(
  fetchFn: FetchFn,
  root: string,
  studyUID: string,
  options: { signal?: AbortSignal } = {},
): Promise<PriorResults> {
  const base = `${trimRoot(root)}/studies/${encodeURIComponent(studyUID)}`;
  const series = await getJson(fetchFn, `${base}/series?Modality=SR`, options.signal);
  const reports: ParsedReport[] = [];
  const skipped: PriorResults['skipped'] = [];
  for (const s of series) {
    const seriesUID = tagString(s, '0020000E');
    if (!seriesUID) continue;
    const instances = await getJson(
      fetchFn,
      `${base}/series/${encodeURIComponent(seriesUID)}/metadata`,
      options.signal,
    );
    for (const json of instances) {
      let ds = fromDicomJson(json as Record<string, unknown>);
      const sop = String(ds.SOPInstanceUID ?? '');
      try {
        if (!ds.ContentSequence) {
          const res = await fetchFn(
            `${base}/series/${encodeURIComponent(seriesUID)}/instances/${encodeURIComponent(sop)}`,
            {
              headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
              signal: options.signal,
            },
          );
          if (!res.ok) throw new Error(`HTTP ${res.status} retrieving the instance`);
          const bytes = new Uint8Array(await res.arrayBuffer());
          const part = multipartParts(bytes, res.headers.get('content-type') ?? '')[0];
          ds = readPart10(part);
        }
        if (!isOurSR(ds)) continue;
        reports.push(parseClassificationSR(ds));
      } catch (e) {
        skipped.push({ sopInstanceUID: sop, reason: e instanceof Error ? e.message : String(e) });
      }
    }
  }
  reports.sort((a, b) => (a.contentDateTime < b.contentDateTime ? 1 : a.contentDateTime > b.contentDateTime ? -1 : 0));
  return { reports, skipped };
}
