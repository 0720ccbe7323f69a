// The classification SR (extension/src/report): built from the sample study's real metadata, checked by dicom3tools'
// dciodvfy (no Error lines) and dcmtk's dsrdump (renders the tree), read back with dcmjs to the same numbers, and
// the bad inputs of issue 13 (missing attributes, 500 slices, a second save, changed results).
import {
  ALGORITHM_NAME,
  COMPREHENSIVE_SR,
  DEFAULT_DEVICE,
  ReportInputError,
  buildClassificationSR,
  isOurSR,
  isValidUid,
  parseClassificationSR,
  readPart10,
  slicesFromOutcomes,
  uidFromName,
} from '../../extension/src/report';
import { sha256, sha256HexOfText } from '../../extension/src/report/uid';
import { decimalString } from '../../extension/src/report/content';
import { createHash } from 'node:crypto';
import {
  ADI_INSTANCES,
  ADI_SERIES,
  CARD_SHA,
  CLASSES,
  EXPECTED_WARNINGS,
  MODEL,
  adiSlices,
  dciodvfy,
  declined,
  dsrdump,
  hasTool,
  inRange,
  removeTmpFiles,
  tmpFile,
} from '../fixtures/report/sample';

afterAll(removeTmpFiles);

const NOW = new Date(2026, 11, 2, 6, 30, 15);
const build = (over: Partial<Parameters<typeof buildClassificationSR>[0]> = {}) =>
  buildClassificationSR({ instances: ADI_INSTANCES, slices: adiSlices(), model: MODEL, now: NOW, ...over });

const HAVE_DCIODVFY = hasTool('dciodvfy');
const HAVE_DSRDUMP = hasTool('dsrdump');
const withDciodvfy = HAVE_DCIODVFY ? test : test.skip;
const withDsrdump = HAVE_DSRDUMP ? test : test.skip;
if (!HAVE_DCIODVFY)
  console.warn('report.sr.test: SKIPPING dciodvfy checks: dciodvfy not found (apt-get install -y dicom3tools)');
if (!HAVE_DSRDUMP)
  console.warn('report.sr.test: SKIPPING dsrdump checks: dsrdump not found (apt-get install -y dcmtk)');

function expectValid(file: string): void {
  const v = dciodvfy(file);
  expect(v.output).toContain('ComprehensiveSR');
  expect(v.errors).toEqual([]);
  expect(v.warnings.filter((w) => !EXPECTED_WARNINGS.some((re) => re.test(w)))).toEqual([]);
}

describe('UIDs', () => {
  test('SHA-256 matches Node crypto', () => {
    for (const text of ['', 'abc', 'x'.repeat(55), 'y'.repeat(56), 'z'.repeat(64), 'ü'.repeat(1000)]) {
      expect(sha256HexOfText(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
    expect(sha256(new Uint8Array(0)).length).toBe(32);
  });

  test('2.25 UIDs: deterministic, valid, under 64 characters, version-8 UUID bits', () => {
    const a = uidFromName('a', 'b');
    expect(a).toBe(uidFromName('a', 'b'));
    expect(a).not.toBe(uidFromName('ab'));
    expect(a.startsWith('2.25.')).toBe(true);
    expect(isValidUid(a)).toBe(true);
    expect(a.length).toBeLessThanOrEqual(64);
    const hex = BigInt(a.slice(5)).toString(16).padStart(32, '0');
    expect(hex[12]).toBe('8');
    expect(['8', '9', 'a', 'b']).toContain(hex[16]);
  });

  test('decimal strings fit 16 characters', () => {
    for (const x of [0, 1, 0.1, 1 / 3, 1e-12, 1 / 7, 123456789 + 1 / 7, 812.5, 2 ** -40]) {
      const s = decimalString(x);
      expect(s.length).toBeLessThanOrEqual(16);
      expect(Math.abs(Number(s) - x)).toBeLessThanOrEqual(Math.abs(x) * 1e-9 + 1e-15);
    }
  });
});

describe('the SR', () => {
  const built = build();
  const file = tmpFile('adi.dcm', built.buffer);

  test('Comprehensive SR, TID 1500, same study, new series, patient/study copied and nothing more', () => {
    const ds = built.dataset as Record<string, any>;
    const src = ADI_INSTANCES[0];
    expect(ds.SOPClassUID).toBe(COMPREHENSIVE_SR);
    expect(ds.Modality).toBe('SR');
    expect(ds.ContentTemplateSequence[0].TemplateIdentifier).toBe('1500');
    expect(ds.ConceptNameCodeSequence[0]).toMatchObject({ CodeValue: '126001', CodingSchemeDesignator: 'DCM' });
    expect(ds.ContentSequence[7]).toMatchObject({
      ValueType: 'TEXT',
      TextValue: expect.stringMatching(/^Research use only, not for diagnosis\./),
    });
    expect(ds.StudyInstanceUID).toBe(src.StudyInstanceUID);
    expect(ds.SeriesInstanceUID).not.toBe(ADI_SERIES.SeriesInstanceUID);
    expect(ds.SeriesDescription).toBe('SSCLNet classification');
    expect(isValidUid(ds.SeriesInstanceUID) && isValidUid(ds.SOPInstanceUID)).toBe(true);
    expect(ds.SeriesInstanceUID.startsWith('2.25.')).toBe(true);
    expect(ds.PatientName).toEqual([{ Alphabetic: 'Volunteer^ADI' }]);
    expect(ds.PatientID).toBe(src.PatientID);
    expect(ds.PatientSex).toBe('O');
    expect(ds.StudyDate).toBe(src.StudyDate);
    expect(ds.StudyTime).toBe(src.StudyTime);
    expect(ds.StudyID).toBe(src.StudyID);
    // nothing from the image: no pixel data, no image/equipment attributes of the source, no private tags
    for (const k of [
      'PixelData',
      'Rows',
      'ImagePositionPatient',
      'FrameOfReferenceUID',
      'StudyDescription',
      'SliceThickness',
    ])
      expect(ds[k]).toBeUndefined();
    const back = readPart10(built.buffer) as Record<string, any>;
    expect(Object.keys(back).filter((k) => /^[0-9A-F]{8}$/i.test(k))).toEqual([]);
    expect(back.Manufacturer).toBe(DEFAULT_DEVICE.manufacturer);
  });

  withDciodvfy('dciodvfy: no errors, only the expected warnings', () => {
    expectValid(file);
  });

  withDsrdump(
    'dsrdump renders the tree: device observer, algorithm, findings, probabilities, declines, summary',
    () => {
      const d = dsrdump(file);
      expect(d.status).toBe(0);
      expect(d.output).toContain('Comprehensive SR Document');
      expect(d.output).not.toMatch(/^E:/m);
      const lines = d.output;
      expect(lines).toContain('<CONTAINER:(126001,DCM,"Oncology Measurement Report")=SEPARATE>');
      expect(lines).toContain('<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>');
      expect(lines).toContain(`<has obs context UIDREF:(121012,DCM,"Device Observer UID")="${DEFAULT_DEVICE.uid}">`);
      expect(lines).toContain('<contains CODE:(121071,DCM,"Finding")=(302820008,SCT,"Intracranial meningioma")>');
      expect(lines).toContain(
        '<contains NUM:(p-meningioma,99SSCLNET,"Probability of meningioma")="0.81234567890123" ({probability},UCUM,"probability")>',
      );
      expect(lines).toContain(`<has concept mod TEXT:(111003,DCM,"Algorithm Version")="${MODEL.version}">`);
      expect(lines).toMatch(
        /<contains TEXT:\(out-of-range,99SSCLNET,"Outside the model's range"\)="not an axial slice/,
      );
      expect(lines).toMatch(
        /<contains TEXT:\(intended-use,99SSCLNET,"Intended use"\)="Research use only, not for diagnosis/,
      );
      expect(lines).toContain(
        '<contains CODE:(series-call,99SSCLNET,"Series conclusion")=(302820008,SCT,"Intracranial meningioma")>',
      );
    },
  );

  test('round trip: parse gives back the same numbers', () => {
    const r = parseClassificationSR(built.buffer);
    const slices = adiSlices();
    expect(r.modelVersion).toBe(MODEL.version);
    expect(r.cardSha256).toBe(CARD_SHA);
    expect(r.classes).toEqual(CLASSES);
    expect(r.algorithmName).toBe(ALGORITHM_NAME);
    expect(r.parameters).toContain('calibration: temperature 1.3');
    expect(r.studyInstanceUID).toBe(ADI_INSTANCES[0].StudyInstanceUID);
    expect(r.sourceSeriesInstanceUID).toBe(ADI_SERIES.SeriesInstanceUID);
    expect(r.seriesInstanceUID).toBe(built.seriesInstanceUID);
    expect(r.sopInstanceUID).toBe(built.sopInstanceUID);
    expect(r.contentDateTime).toBe('2026-12-02T06:30:15');
    expect(r.slices).toHaveLength(7);
    r.slices.forEach((s, i) => {
      const c = slices[i].classification!;
      expect(s.index).toBe(i);
      expect(s.sopInstanceUID).toBe(slices[i].sopInstanceUID);
      expect(s.sopClassUID).toBe(ADI_INSTANCES[i].SOPClassUID);
      expect(s.frame).toBeNull();
      if (c.outOfRange) {
        expect(s.label).toBeNull();
        expect(s.probabilities).toEqual([]); // a declined slice's probabilities are never written
        expect(s.outOfRange).toEqual(c.outOfRange);
      } else {
        expect(s.label).toBe(c.top.label);
        expect(s.probabilities).toEqual(c.probabilities); // exact: Floating Point Value
        expect(s.outOfRange).toBeNull();
      }
    });
    expect(r.summary).toMatchObject({
      slices: 7,
      inRange: 5,
      declined: 2,
      calls: { glioma: 1, meningioma: 3, notumor: 1, pituitary: 0 },
      runs: [
        { label: 'meningioma', from: 2, to: 4, count: 3, isolated: false },
        { label: 'glioma', from: 6, to: 6, count: 1, isolated: true },
      ],
      claimsTumour: true,
      claimed: ['meningioma'],
    });
    expect(r.summary!.text).toMatch(/^7 slices: 2 declined/);
  });

  test('isOurSR recognises ours and nothing else', () => {
    const ds = readPart10(built.buffer);
    expect(isOurSR(ds)).toBe(true);
    expect(isOurSR({ ...ds, ContentSequence: [] })).toBe(false);
    expect(isOurSR({ Modality: 'MR', SOPClassUID: '1.2.840.10008.5.1.4.1.1.4' })).toBe(false);
    const other = {
      ...ds,
      ConceptNameCodeSequence: [
        { CodeValue: '18748-4', CodingSchemeDesignator: 'LN', CodeMeaning: 'Diagnostic imaging report' },
      ],
    };
    expect(isOurSR(other)).toBe(false);
    expect(() => parseClassificationSR(other)).toThrow(/not written by the SSCLNet classifier/);
  });
});

describe('a second save and changed results', () => {
  test('identical results: the same Series and SOP Instance UIDs, whatever the time', () => {
    const a = build();
    const b = build({ now: new Date(2027, 0, 1) });
    expect(b.seriesInstanceUID).toBe(a.seriesInstanceUID);
    expect(b.sopInstanceUID).toBe(a.sopInstanceUID);
    expect(b.resultsHash).toBe(a.resultsHash);
  });

  test('backend noise below 1e-4 is the same result; a changed result is a new instance in the same series', () => {
    const a = build();
    const noisy = adiSlices();
    noisy[0].classification!.probabilities = [0.01000002, 0.02, 0.94999998, 0.02];
    expect(build({ slices: noisy }).sopInstanceUID).toBe(a.sopInstanceUID);
    const changed = adiSlices();
    changed[0].classification = inRange([0.01, 0.03, 0.94, 0.02]);
    const c = build({ slices: changed });
    expect(c.seriesInstanceUID).toBe(a.seriesInstanceUID);
    expect(c.sopInstanceUID).not.toBe(a.sopInstanceUID);
  });

  test('another model version: another series', () => {
    expect(build({ model: { ...MODEL, version: '2026.12.01-1' } }).seriesInstanceUID).not.toBe(
      build().seriesInstanceUID,
    );
  });
});

describe('bad input', () => {
  test('no Study Instance UID: refused with a message', () => {
    const instances = ADI_INSTANCES.map((i) => ({ ...i, StudyInstanceUID: undefined }));
    expect(() => build({ instances })).toThrow(ReportInputError);
    expect(() => build({ instances })).toThrow(/no Study Instance UID/);
  });

  test('missing patient/study attributes: written empty (type 2), still valid', () => {
    const bare = ADI_INSTANCES.map((i) => ({
      SOPClassUID: i.SOPClassUID,
      SOPInstanceUID: i.SOPInstanceUID,
      SeriesInstanceUID: i.SeriesInstanceUID,
      StudyInstanceUID: i.StudyInstanceUID,
    }));
    const r = build({ instances: bare });
    const ds = r.dataset as Record<string, unknown>;
    for (const k of [
      'PatientName',
      'PatientID',
      'PatientBirthDate',
      'PatientSex',
      'StudyDate',
      'StudyTime',
      'ReferringPhysicianName',
      'StudyID',
      'AccessionNumber',
    ]) {
      expect(ds[k]).toBe('');
    }
    if (HAVE_DCIODVFY) expectValid(tmpFile('bare.dcm', r.buffer));
    expect(parseClassificationSR(r.buffer).slices).toHaveLength(7);
  });

  test('non-ASCII and structured person names survive (UTF-8, ISO_IR 192)', () => {
    const instances = ADI_INSTANCES.map((i) => ({
      ...i,
      PatientName: [{ Alphabetic: 'Müller^Jürgen' }],
      ReferringPhysicianName: 'Öz^Ayşe',
    }));
    const r = build({ instances });
    const back = readPart10(r.buffer) as Record<string, any>;
    expect(back.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(back.PatientName[0].Alphabetic).toBe('Müller^Jürgen');
    expect(back.ReferringPhysicianName[0].Alphabetic).toBe('Öz^Ayşe');
  });

  test('slices of two studies, unknown SOP class, no classified slice, wrong probability count: refused', () => {
    const two = [ADI_INSTANCES[0], { ...ADI_INSTANCES[1], StudyInstanceUID: '1.2.3' }];
    expect(() => build({ instances: two })).toThrow(/two studies/);
    const noClass = ADI_INSTANCES.map((i) => ({ ...i, SOPClassUID: undefined }));
    expect(() => build({ instances: noClass })).toThrow(/no SOP Class UID/);
    expect(() => build({ slices: adiSlices().map((s) => ({ ...s, classification: null })) })).toThrow(
      /nothing to report/,
    );
    const wrong = adiSlices();
    wrong[0].classification!.probabilities = [0.5, 0.5];
    expect(() => build({ slices: wrong })).toThrow(/2 probabilities for 4 classes/);
    expect(() => build({ model: { ...MODEL, cardSha256: 'abc' } })).toThrow(/SHA-256/);
  });

  test('unreadable and cancelled slices are counted, not written', () => {
    const slices = adiSlices();
    slices[5] = { ...slices[5], classification: null, error: 'cannot decode JPEG 2000' };
    slices[6] = { ...slices[6], classification: null };
    const r = parseClassificationSR(build({ slices }).buffer);
    expect(r.slices.map((s) => s.index)).toEqual([0, 1, 2, 3, 4]);
    expect(r.summary).toMatchObject({ slices: 7, unreadable: 1, pending: 1 });
  });

  test('a multi-frame instance: the frame is referenced', () => {
    const inst = { ...ADI_INSTANCES[0], SOPClassUID: '1.2.840.10008.5.1.4.1.1.4.1', NumberOfFrames: 3 };
    const slices = [0, 1, 2].map((index) => ({
      index,
      sopInstanceUID: String(inst.SOPInstanceUID),
      frame: index + 1,
      classification: inRange([0.1, 0.1, 0.7, 0.1]),
    }));
    const r = build({ instances: [inst], slices });
    const back = parseClassificationSR(r.buffer);
    expect(back.slices.map((s) => s.frame)).toEqual([1, 2, 3]);
    // a single-frame instance: no Referenced Frame Number even when a frame is passed; frame 0 (0-based) is refused
    const single = build({ slices: adiSlices().map((x) => ({ ...x, frame: 1 })) });
    expect(parseClassificationSR(single.buffer).slices.every((x) => x.frame === null)).toBe(true);
    expect(() => build({ slices: adiSlices().map((x) => ({ ...x, frame: 0 })) })).toThrow(/not a 1-based frame number/);
    if (HAVE_DCIODVFY) expectValid(tmpFile('mf.dcm', r.buffer));
  });

  test("the viewer's series outcomes (0-based frames) convert to report slices", () => {
    const slices = adiSlices();
    const outcomes = slices.map((s, i) => ({
      index: s.index,
      identity: i === 3 ? null : { sopInstanceUID: s.sopInstanceUID, frame: 0 },
      classification: i === 3 ? null : s.classification,
      error: i === 3 ? 'cannot decode' : null,
    }));
    const converted = slicesFromOutcomes(outcomes);
    expect(converted[0]).toEqual({
      index: 0,
      sopInstanceUID: slices[0].sopInstanceUID,
      frame: 1,
      classification: slices[0].classification,
      error: null,
    });
    expect(converted[3]).toMatchObject({ classification: null, error: 'cannot decode' });
    const back = parseClassificationSR(build({ slices: converted }).buffer);
    expect(back.slices.map((s) => s.frame)).toEqual([null, null, null, null, null, null]); // single-frame MR: no frame
    expect(back.summary).toMatchObject({ slices: 7, unreadable: 1 });
  });

  test('500 slices: built, valid and read back in reasonable time', () => {
    const sop = (i: number) => `1.2.826.0.1.3680043.10.1453.9.${i + 1}`;
    const instances = Array.from({ length: 500 }, (_, i) => ({ ...ADI_INSTANCES[0], SOPInstanceUID: sop(i) }));
    const slices = instances.map((inst, index) => ({
      index,
      sopInstanceUID: String(inst.SOPInstanceUID),
      classification:
        index % 50 === 0
          ? declined('metadata', 'a localiser image')
          : inRange(index >= 200 && index < 260 ? [0.8, 0.1, 0.05, 0.05] : [0.05, 0.05, 0.85, 0.05]),
    }));
    const t0 = Date.now();
    const r = build({ instances, slices });
    const buildMs = Date.now() - t0;
    const t1 = Date.now();
    const back = parseClassificationSR(r.buffer);
    const parseMs = Date.now() - t1;
    expect(r.groups).toBe(500);
    expect(back.slices).toHaveLength(500);
    expect(back.slices[499].probabilities).toEqual(slices[499].classification.probabilities);
    expect(back.summary).toMatchObject({ slices: 500, declined: 10, claimsTumour: true, claimed: ['glioma'] });
    expect(back.summary!.runs.filter((x) => x.label === 'glioma').map((x) => [x.from, x.to])).toEqual([
      [202, 250],
      [252, 260],
    ]);
    console.log(
      `report: 500 slices -> ${(r.buffer.byteLength / 1024).toFixed(0)} KiB SR, built in ${buildMs} ms, parsed in ${parseMs} ms`,
    );
    expect(buildMs + parseMs).toBeLessThan(60_000); // dcmjs writes ~2 ms per content item; the test machine is shared
    if (HAVE_DCIODVFY) expectValid(tmpFile('500.dcm', r.buffer));
  });
});
