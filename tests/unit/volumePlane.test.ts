// The MPR path (issue 16): the plane a volume viewport shows, read from the volume's voxels. Checked on a real axial
// series of the sample study stacked into a volume as Cornerstone builds it (i along the rows, j down the columns,
// k through the slices): the axial plane at slice k is that slice's own pixels, the sagittal and coronal planes
// are the volume's cuts in screen order, and an oblique camera is declined.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readDicomSlices, type DicomSlice } from '../../extension/src/inference/dicomFile';
import { PixelPathError } from '../../extension/src/classification/pixelPath';
import { volumeFromImageData, volumePlane, type VolumeLike } from '../../extension/src/classification/volumePlane';
import { planeOrientation } from '../../extension/src/classification/displayedSlice';
import { metadataGate } from '../../extension/src/inference/inRange';

const SERIES = path.join(__dirname, '../../demo/sample-study/adi-t2-axial');

function loadSeries(): DicomSlice[] {
  const slices = fs
    .readdirSync(SERIES)
    .filter((f) => f.endsWith('.dcm'))
    .flatMap((f) => readDicomSlices(new Uint8Array(fs.readFileSync(path.join(SERIES, f)))));
  return slices.sort((a, b) => (a.position?.[2] ?? 0) - (b.position?.[2] ?? 0));
}

function volumeOf(slices: DicomSlice[]): { volume: VolumeLike; scalar: Float32Array } {
  const { width: nx, height: ny } = slices[0];
  const nz = slices.length;
  const scalar = new Float32Array(nx * ny * nz);
  slices.forEach((s, k) => {
    for (let p = 0; p < nx * ny; p += 1) scalar[k * nx * ny + p] = Number(s.data[p]);
  });
  const iop = slices[0].attributes.ImageOrientationPatient as number[];
  const rowDir = iop.slice(0, 3);
  const colDir = iop.slice(3, 6);
  const normal = [
    rowDir[1] * colDir[2] - rowDir[2] * colDir[1],
    rowDir[2] * colDir[0] - rowDir[0] * colDir[2],
    rowDir[0] * colDir[1] - rowDir[1] * colDir[0],
  ];
  const ps = slices[0].attributes.PixelSpacing as number[];
  const dz = Math.abs((slices[1].position?.[2] ?? 1) - (slices[0].position?.[2] ?? 0)) || 1;
  const imageData = {
    dimensions: [nx, ny, nz],
    spacing: [ps[1], ps[0], dz],
    origin: slices[0].position ?? [0, 0, 0],
    direction: [...rowDir, ...colDir, ...normal],
    scalarData: scalar,
  };
  return { volume: volumeFromImageData(imageData), scalar };
}

const loaded = fs.existsSync(SERIES) ? loadSeries() : [];
const maybe = loaded.length >= 3 ? test : test.skip;

maybe('the axial plane at slice k is that acquired slice, pixel for pixel', () => {
  const { volume } = volumeOf(loaded);
  const k = Math.floor(loaded.length / 2);
  const origin = volume.origin;
  const focal = [origin[0] + 10, origin[1] + 20, loaded[k].position![2]];
  // OHIF's axial camera: normal (0, 0, -1), view up (0, -1, 0): screen right = +x, screen down = +y.
  const plane = volumePlane(volume, { viewPlaneNormal: [0, 0, -1], viewUp: [0, -1, 0], focalPoint: focal });
  expect([plane.width, plane.height]).toEqual([loaded[k].width, loaded[k].height]);
  expect(plane.sliceIndex).toBe(k);
  expect(plane.sliceCount).toBe(loaded.length);
  const want = Float32Array.from(loaded[k].data as ArrayLike<number>, Number);
  expect(Array.from(plane.data)).toEqual(Array.from(want));
  expect(plane.pixelSpacing).toEqual(loaded[k].attributes.PixelSpacing);
});

maybe('sagittal and coronal planes are the volume cut in screen order; the gate declines them by orientation', () => {
  const { volume, scalar } = volumeOf(loaded);
  const [nx, ny, nz] = [volume.dimensions[0], volume.dimensions[1], volume.dimensions[2]];
  const centre = [0, 1, 2].map((a) => volume.origin[a] + (volume.dimensions[a] / 2) * volume.spacing[a]);
  const sagittal = { viewPlaneNormal: [1, 0, 0], viewUp: [0, 0, 1], focalPoint: centre };
  const s = volumePlane(volume, sagittal);
  expect([s.width, s.height]).toEqual([ny, nz]);
  const i = s.sliceIndex;
  // screen right = up x normal = (0, 1, 0) (+j); screen down = -z: the top row is the highest slice
  expect(s.data[0 * s.width + 5]).toBe(scalar[(nz - 1) * nx * ny + 5 * nx + i]);
  expect(s.data[(nz - 1) * s.width + 7]).toBe(scalar[0 * nx * ny + 7 * nx + i]);
  const coronal = { viewPlaneNormal: [0, -1, 0], viewUp: [0, 0, 1], focalPoint: centre };
  const c = volumePlane(volume, coronal);
  expect([c.width, c.height]).toEqual([nx, nz]);
  for (const cam of [sagittal, coronal]) {
    const reason = metadataGate({ Modality: 'MR', ImageOrientationPatient: planeOrientation(cam) ?? undefined });
    expect(reason).toMatch(/not an axial slice/);
  }
  const axial = metadataGate({
    Modality: 'MR',
    ImageOrientationPatient: planeOrientation({ viewPlaneNormal: [0, 0, -1], viewUp: [0, -1, 0] }) ?? undefined,
  });
  expect(axial).toBeNull();
});

maybe('an oblique plane, a plane outside the volume and a volume still loading are declined with a reason', () => {
  const { volume } = volumeOf(loaded);
  const c = Math.SQRT1_2;
  expect(() =>
    volumePlane(volume, { viewPlaneNormal: [0, c, -c], viewUp: [0, -c, -c], focalPoint: volume.origin }),
  ).toThrow(/oblique/);
  const below = [volume.origin[0], volume.origin[1], volume.origin[2] - 500];
  expect(() => volumePlane(volume, { viewPlaneNormal: [0, 0, -1], viewUp: [0, -1, 0], focalPoint: below })).toThrow(
    /outside the volume/,
  );
  expect(() => volumePlane(volume, undefined)).toThrow(PixelPathError);
  expect(() => volumeFromImageData({ dimensions: [2, 2, 2] })).toThrow(/not loaded/);
});
