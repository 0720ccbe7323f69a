// The DICOM attributes the viewer hands the metadata gate, from OHIF's naturalized instance: keywords, the frame's
// own orientation and frame type from the enhanced functional groups (per-frame, else shared), strings normalized.
import { dicomAttributes } from '../../extension/src/classification/dicomAttributes';
import { metadataGate } from '../../extension/src/inference/inRange';

test('a classic MR instance', () => {
  const a = dicomAttributes({
    Modality: 'MR',
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
    ImageType: ['ORIGINAL', 'PRIMARY', 'M'],
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    PhotometricInterpretation: 'MONOCHROME2',
    SamplesPerPixel: 1,
    SeriesDescription: 'AX FSE T2 ',
  });
  expect(a).toEqual({
    Modality: 'MR',
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.4',
    ImageType: ['ORIGINAL', 'PRIMARY', 'M'],
    ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
    PhotometricInterpretation: 'MONOCHROME2',
    SamplesPerPixel: 1,
    SeriesDescription: 'AX FSE T2',
  });
  expect(metadataGate(a!)).toBeNull();
  expect(dicomAttributes(null)).toBeNull();
});

test("enhanced multi-frame: the frame's own orientation and frame type, else the shared ones", () => {
  const sagittal = [0, 1, 0, 0, 0, -1];
  const axial = [1, 0, 0, 0, 1, 0];
  const instance = {
    Modality: 'MR',
    ImageType: 'DERIVED\\PRIMARY',
    NumberOfFrames: 2,
    SharedFunctionalGroupsSequence: [
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: axial }],
        MRImageFrameTypeSequence: [{ FrameType: ['ORIGINAL', 'PRIMARY'] }],
      },
    ],
    PerFrameFunctionalGroupsSequence: [
      {},
      {
        PlaneOrientationSequence: [{ ImageOrientationPatient: sagittal }],
        MRImageFrameTypeSequence: [{ FrameType: 'DERIVED\\LOCALIZER' }],
      },
    ],
  };
  expect(dicomAttributes(instance, 0)).toMatchObject({
    ImageType: ['DERIVED', 'PRIMARY'],
    ImageOrientationPatient: axial,
    FrameType: ['ORIGINAL', 'PRIMARY'],
  });
  const f1 = dicomAttributes(instance, 1)!;
  expect(f1).toMatchObject({ ImageOrientationPatient: sagittal, FrameType: ['DERIVED', 'LOCALIZER'] });
  expect(metadataGate(f1)).toMatch(/localiser/);
  expect(metadataGate({ ...f1, FrameType: [] })).toMatch(/not an axial slice/);
});

test('colour and non-MR instances are declined by the gate', () => {
  expect(metadataGate(dicomAttributes({ Modality: 'CT', ImageOrientationPatient: '1\\0\\0\\0\\1\\0' })!)).toMatch(
    /not MR \(CT\)/,
  );
  expect(
    metadataGate(dicomAttributes({ Modality: 'MR', PhotometricInterpretation: 'RGB', SamplesPerPixel: 3 })!),
  ).toMatch(/colour/);
});
