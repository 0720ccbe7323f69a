/**
 * The plane a volume (MPR) viewport displays, read straight from the volume's voxels: the axis-aligned slice through
 * the camera's focal point, with rows and columns ordered as on screen (screen right = viewUp x viewPlaneNormal,
 * screen down = -viewUp). Cornerstone's own `getSliceViewInfo` sizes the slice from the canvas and answers
 * fractional or negative sizes for a zoomed or panned viewport, so it is not used. Oblique planes are declined.
 */
import { PixelPathError } from './pixelPath';

type Vec3 = ArrayLike<number>;

/** What the plane is read from: Cornerstone's IImageData of the volume and the viewport's camera. */
export interface VolumeLike {
  dimensions: Vec3;
  spacing: Vec3;
  origin: Vec3;
  /** 3x3 row-major: the world direction of the i, j and k index axes. */
  direction: ArrayLike<number>;
  /** The voxel at (i, j, k). */
  voxel: (i: number, j: number, k: number) => number;
}

export interface CameraLike {
  viewPlaneNormal?: Vec3;
  viewUp?: Vec3;
  focalPoint?: Vec3;
}

export interface VolumePlane {
  data: Float32Array;
  width: number;
  height: number;
  /** Row spacing (screen down), column spacing (screen right), in mm: DICOM's PixelSpacing order. */
  pixelSpacing: [number, number];
  /** Index of the plane along the volume axis it cuts, and that axis' length. */
  sliceIndex: number;
  sliceCount: number;
}

const ALIGNED = 0.99; // |cos| between a screen direction and an index axis (about 8 degrees)

const dot = (a: Vec3, b: Vec3) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: Vec3, b: Vec3) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];

function axisOf(v: Vec3, axes: Vec3[]): { axis: number; sign: 1 | -1 } | null {
  const len = Math.hypot(v[0], v[1], v[2]);
  if (!(len > 0)) return null;
  let best = -1;
  let bestDot = 0;
  axes.forEach((a, i) => {
    const d = dot(v, a) / len;
    if (Math.abs(d) > Math.abs(bestDot)) [best, bestDot] = [i, d];
  });
  return best >= 0 && Math.abs(bestDot) >= ALIGNED ? { axis: best, sign: bestDot > 0 ? 1 : -1 } : null;
}

export function volumePlane(volume: VolumeLike, camera: CameraLike | undefined): VolumePlane {
  const n = camera?.viewPlaneNormal,
    up = camera?.viewUp,
    focal = camera?.focalPoint;
  if (!n || !up || !focal) throw new PixelPathError('the viewport has no camera to locate the displayed plane');
  const d = volume.direction;
  const axes = [
    [d[0], d[1], d[2]],
    [d[3], d[4], d[5]],
    [d[6], d[7], d[8]],
  ];
  const right = axisOf(cross(up, n), axes);
  const down = axisOf([-up[0], -up[1], -up[2]], axes);
  const normal = axisOf(n, axes);
  if (!right || !down || !normal || new Set([right.axis, down.axis, normal.axis]).size !== 3)
    throw new PixelPathError('an oblique plane cannot be classified; show an axial plane');
  const dims = [volume.dimensions[0], volume.dimensions[1], volume.dimensions[2]];
  const rel = [focal[0] - volume.origin[0], focal[1] - volume.origin[1], focal[2] - volume.origin[2]];
  const k = Math.round(dot(rel, axes[normal.axis]) / volume.spacing[normal.axis]);
  if (!(k >= 0 && k < dims[normal.axis])) throw new PixelPathError('the displayed plane lies outside the volume');
  const width = dims[right.axis];
  const height = dims[down.axis];
  const data = new Float32Array(width * height);
  const ijk = [0, 0, 0];
  ijk[normal.axis] = k;
  for (let r = 0; r < height; r += 1) {
    ijk[down.axis] = down.sign > 0 ? r : height - 1 - r;
    for (let c = 0; c < width; c += 1) {
      ijk[right.axis] = right.sign > 0 ? c : width - 1 - c;
      data[r * width + c] = volume.voxel(ijk[0], ijk[1], ijk[2]);
    }
  }
  return {
    data,
    width,
    height,
    pixelSpacing: [volume.spacing[down.axis], volume.spacing[right.axis]],
    sliceIndex: k,
    sliceCount: dims[normal.axis],
  };
}

/** Adapts Cornerstone 3D's IImageData (voxelManager, or a flat scalar array in older builds) to VolumeLike. */
export function volumeFromImageData(imageData: unknown): VolumeLike {
  const img = imageData as {
    dimensions?: Vec3;
    spacing?: Vec3;
    origin?: Vec3;
    direction?: ArrayLike<number>;
    voxelManager?: { getAtIJK?: (i: number, j: number, k: number) => unknown };
    scalarData?: ArrayLike<number>;
  } | null;
  if (!img?.dimensions || !img.spacing || !img.origin || !img.direction)
    throw new PixelPathError('the volume is not loaded yet');
  const [nx, ny] = [img.dimensions[0], img.dimensions[1]];
  let voxel: VolumeLike['voxel'];
  if (typeof img.voxelManager?.getAtIJK === 'function') {
    const vm = img.voxelManager;
    voxel = (i, j, k) => Number(vm.getAtIJK!(i, j, k));
  } else if (img.scalarData) {
    const s = img.scalarData;
    voxel = (i, j, k) => s[i + nx * (j + ny * k)];
  } else throw new PixelPathError('the volume has no voxel data yet');
  return { dimensions: img.dimensions, spacing: img.spacing, origin: img.origin, direction: img.direction, voxel };
}
