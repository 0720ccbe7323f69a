// The report's DICOMweb client against a fake fetch: STOW-RS request shape, progress, and a clear message for each
// failure (network, 4xx, 5xx, FailedSOPSequence, a non-JSON answer); QIDO-RS + WADO-RS lookup of prior results.
import {
  StoreError,
  buildClassificationSR,
  findPriorResults,
  multipartParts,
  readPart10,
  storeInstances,
  stowBody,
} from '../../extension/src/report';
import type { FetchFn, StoreProgress } from '../../extension/src/report';
import dcmjs from 'dcmjs';
import { ADI_INSTANCES, MODEL, adiSlices } from '../fixtures/report/sample';

const ROOT = 'http://pacs.test/dicom-web/';
const built = buildClassificationSR({
  instances: ADI_INSTANCES,
  slices: adiSlices(),
  model: MODEL,
  now: new Date(2026, 11, 2, 6, 30),
});

interface Call {
  url: string;
  init?: Parameters<FetchFn>[1];
}

function reply(status: number, body: string | Uint8Array = '', contentType = 'application/dicom+json') {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  return {
    ok: status >= 200 && status < 300,
    status,
    headers: { get: (n: string) => (n.toLowerCase() === 'content-type' ? contentType : null) },
    text: async () => new TextDecoder().decode(bytes),
    arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
  };
}

function fake(handler: (call: Call) => ReturnType<typeof reply> | Promise<ReturnType<typeof reply>>): {
  fetch: FetchFn;
  calls: Call[];
} {
  const calls: Call[] = [];
  return {
    calls,
    fetch: async (url, init) => {
      calls.push({ url, init });
      return handler({ url, init });
    },
  };
}

const ok = (sops: string[]) =>
  JSON.stringify({
    '00081190': { vr: 'UR', Value: ['http://pacs.test/dicom-web/studies/1.2'] },
    '00081199': {
      vr: 'SQ',
      Value: sops.map((s) => ({
        '00081150': { vr: 'UI', Value: [built.dataset.SOPClassUID] },
        '00081155': { vr: 'UI', Value: [s] },
      })),
    },
  });

describe('storeInstances (STOW-RS)', () => {
  test('one multipart/related request with the Part-10 file; progress; stored UIDs', async () => {
    const f = fake(() => reply(200, ok([built.sopInstanceUID])));
    const progress: StoreProgress[] = [];
    const r = await storeInstances(f.fetch, ROOT, [built.buffer], {
      onProgress: (p) => progress.push(p),
      expectedSOPInstanceUIDs: [built.sopInstanceUID],
    });
    expect(r.stored).toEqual([built.sopInstanceUID]);
    expect(r.retrieveURL).toBe('http://pacs.test/dicom-web/studies/1.2');
    expect(f.calls).toHaveLength(1);
    const { url, init } = f.calls[0];
    expect(url).toBe('http://pacs.test/dicom-web/studies');
    expect(init!.method).toBe('POST');
    const ct = init!.headers!['Content-Type'];
    expect(ct).toMatch(/^multipart\/related; type="application\/dicom"; boundary=ssclnet-[0-9a-f]+$/);
    const parts = multipartParts(init!.body as Uint8Array, ct);
    expect(parts).toHaveLength(1);
    expect(Buffer.from(parts[0]).equals(Buffer.from(built.buffer))).toBe(true);
    expect(progress.map((p) => p.phase)).toEqual(['sending', 'waiting', 'done']);
    expect(progress[0].bytes).toBe((init!.body as Uint8Array).length);
  });

  test('the multipart body has the DICM preamble intact and a closing delimiter', () => {
    const body = stowBody([built.buffer], 'b0');
    const text = Buffer.from(body).toString('latin1');
    const head = '--b0\r\nContent-Type: application/dicom\r\n\r\n';
    expect(text.startsWith(head)).toBe(true);
    expect(text.slice(head.length + 128, head.length + 132)).toBe('DICM');
    expect(text.endsWith('\r\n--b0--\r\n')).toBe(true);
  });

  const failures: [string, () => ReturnType<typeof reply> | Promise<never>, RegExp, string][] = [
    [
      'network failure',
      () => Promise.reject(new TypeError('fetch failed')),
      /did not answer at http:\/\/pacs\.test\/dicom-web \(fetch failed\)\. Nothing was stored/,
      'network',
    ],
    [
      '403 read-only',
      () => reply(403, 'Forbidden', 'text/plain'),
      /HTTP 403\): this data source is read-only/,
      'client',
    ],
    ['405 no STOW', () => reply(405, ''), /does not accept uploads .* \(HTTP 405\)/, 'client'],
    ['413', () => reply(413, ''), /too large/, 'client'],
    [
      '400',
      () => reply(400, 'bad multipart', 'text/plain'),
      /could not accept the report as sent \(HTTP 400: bad multipart\)\. Nothing was stored/,
      'client',
    ],
    [
      '400 from Orthanc (DICOM JSON, no reasons)',
      () => reply(400, JSON.stringify({ '00081198': { vr: 'SQ' }, '00081199': { vr: 'SQ' } })),
      /could not accept the report as sent \(HTTP 400\)\. Nothing was stored\.$/,
      'client',
    ],
    [
      '401',
      () => reply(401, ''),
      /HTTP 401\): this data source is read-only for this viewer or needs credentials/,
      'client',
    ],
    ['418 (other 4xx)', () => reply(418, 'teapot', 'text/plain'), /refused the request \(HTTP 418: teapot\)/, 'client'],
    [
      '502 from the proxy',
      () => reply(502, 'PACS unreachable at http://127.0.0.1:8043', 'text/plain'),
      /unreachable or busy \(HTTP 502: PACS unreachable/,
      'server',
    ],
    [
      '500',
      () => reply(500, 'internal error', 'text/plain'),
      /failed while storing the report \(HTTP 500: internal error\)/,
      'server',
    ],
    [
      '409 with FailedSOPSequence',
      () =>
        reply(
          409,
          JSON.stringify({
            '00081198': {
              vr: 'SQ',
              Value: [{ '00081155': { vr: 'UI', Value: ['2.25.1'] }, '00081197': { vr: 'US', Value: [0xa900] } }],
            },
          }),
        ),
      /rejected the report \(HTTP 409: data set does not match SOP class\)/,
      'rejected',
    ],
    [
      '200 with FailedSOPSequence',
      () =>
        reply(
          200,
          JSON.stringify({
            '00081198': {
              vr: 'SQ',
              Value: [{ '00081155': { vr: 'UI', Value: ['2.25.1'] }, '00081197': { vr: 'US', Value: [0x0122] } }],
            },
          }),
        ),
      /rejected the report \(2\.25\.1: SOP class not supported\)\. Nothing was stored/,
      'rejected',
    ],
    [
      '200 with HTML',
      () => reply(200, '<html>login</html>', 'text/html'),
      /not DICOM JSON .*whether the report was stored is unknown/,
      'bad-response',
    ],
  ];
  test.each(failures)('%s: StoreError with a clear message', async (_name, handler, message, kind) => {
    const f = fake(handler as () => ReturnType<typeof reply>);
    const progress: string[] = [];
    const err = await storeInstances(f.fetch, ROOT, [built.buffer], {
      onProgress: (p) => progress.push(p.phase),
    }).catch((e) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect(err.message).toMatch(message);
    expect(err.kind).toBe(kind);
    expect(progress[progress.length - 1]).toBe('failed');
    expect(f.calls).toHaveLength(1); // one request: no retry, no second half
  });

  test('a warning (coerced attributes) is passed on, not an error', async () => {
    const body = JSON.parse(ok([built.sopInstanceUID]));
    body['00081199'].Value[0]['00081196'] = { vr: 'US', Value: [0xb000] };
    const r = await storeInstances(fake(() => reply(202, JSON.stringify(body))).fetch, ROOT, [built.buffer]);
    expect(r.warnings).toEqual([`${built.sopInstanceUID}: coercion of data elements`]);
  });
});

describe('findPriorResults (QIDO-RS + WADO-RS)', () => {
  const studyUID = String(ADI_INSTANCES[0].StudyInstanceUID);
  const ourJson = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(readPart10(built.buffer));
  const otherSR = {
    '00080016': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.88.22'] },
    '00080018': { vr: 'UI', Value: ['2.25.99'] },
    '00080060': { vr: 'CS', Value: ['SR'] },
  };
  const seriesRow = (uid: string) => ({
    '0020000E': { vr: 'UI', Value: [uid] },
    '00080060': { vr: 'CS', Value: ['SR'] },
  });

  test('queries SR series, reads metadata, keeps ours with model version, date and per-slice results', async () => {
    const f = fake(({ url }) => {
      if (url.endsWith('/series?Modality=SR'))
        return reply(200, JSON.stringify([seriesRow(built.seriesInstanceUID), seriesRow('2.25.98')]));
      if (url.includes(`/series/${built.seriesInstanceUID}/metadata`)) return reply(200, JSON.stringify([ourJson]));
      if (url.includes('/series/2.25.98/metadata'))
        return reply(200, JSON.stringify([{ ...otherSR, '0040A730': { vr: 'SQ', Value: [] } }]));
      return reply(404, '');
    });
    const r = await findPriorResults(f.fetch, ROOT, studyUID);
    expect(f.calls[0].url).toBe(`http://pacs.test/dicom-web/studies/${studyUID}/series?Modality=SR`);
    expect(r.skipped).toEqual([]);
    expect(r.reports).toHaveLength(1);
    const [rep] = r.reports;
    expect(rep.modelVersion).toBe(MODEL.version);
    expect(rep.contentDateTime).toBe('2026-12-02T06:30:00');
    expect(rep.slices.map((s) => s.label)).toEqual([
      'notumor',
      'meningioma',
      'meningioma',
      'meningioma',
      null,
      'glioma',
      null,
    ]);
    expect(rep.slices[1].probabilities).toEqual(adiSlices()[1].classification!.probabilities);
    expect(rep.slices[6].outOfRange?.reason).toBe('not an axial slice (sagittal, 88° from axial)');
  });

  test('metadata without the content tree: the instance is retrieved (multipart/related) and parsed', async () => {
    const noContent = { ...ourJson };
    delete (noContent as Record<string, unknown>)['0040A730'];
    const boundary = 'xyz';
    const f = fake(({ url }) => {
      if (url.endsWith('/series?Modality=SR')) return reply(200, JSON.stringify([seriesRow(built.seriesInstanceUID)]));
      if (url.endsWith('/metadata')) return reply(200, JSON.stringify([noContent]));
      if (url.endsWith(`/instances/${built.sopInstanceUID}`))
        return reply(
          200,
          stowBody([built.buffer], boundary),
          `multipart/related; type="application/dicom"; boundary=${boundary}`,
        );
      return reply(404, '');
    });
    const r = await findPriorResults(f.fetch, ROOT, studyUID);
    expect(r.reports).toHaveLength(1);
    expect(r.reports[0].sopInstanceUID).toBe(built.sopInstanceUID);
  });

  test('no SR series (204 or []): no reports; a failing PACS: an error that says so', async () => {
    expect(await findPriorResults(fake(() => reply(204, '')).fetch, ROOT, studyUID)).toEqual({
      reports: [],
      skipped: [],
    });
    expect(await findPriorResults(fake(() => reply(200, '[]')).fetch, ROOT, studyUID)).toEqual({
      reports: [],
      skipped: [],
    });
    await expect(
      findPriorResults(fake(() => Promise.reject(new TypeError('fetch failed')) as never).fetch, ROOT, studyUID),
    ).rejects.toThrow(/did not answer \(fetch failed\)/);
    await expect(findPriorResults(fake(() => reply(500, 'boom', 'text/plain')).fetch, ROOT, studyUID)).rejects.toThrow(
      /HTTP 500/,
    );
  });

  test('newest first', async () => {
    const older = buildClassificationSR({
      instances: ADI_INSTANCES,
      slices: adiSlices().slice(0, 3),
      model: { ...MODEL, version: '2026.11.23-1' },
      now: new Date(2026, 0, 1),
    });
    const olderJson = dcmjs.data.DicomMetaDictionary.denaturalizeDataset(readPart10(older.buffer));
    const f = fake(({ url }) => {
      if (url.endsWith('/series?Modality=SR'))
        return reply(200, JSON.stringify([seriesRow(older.seriesInstanceUID), seriesRow(built.seriesInstanceUID)]));
      if (url.includes(older.seriesInstanceUID)) return reply(200, JSON.stringify([olderJson]));
      return reply(200, JSON.stringify([ourJson]));
    });
    const r = await findPriorResults(f.fetch, ROOT, studyUID);
    expect(r.reports.map((x) => x.modelVersion)).toEqual([MODEL.version, '2026.11.23-1']);
  });
});
