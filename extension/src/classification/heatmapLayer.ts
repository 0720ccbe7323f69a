/**
 * The heatmap drawn over a viewport: a canvas holding the colour-mapped heatmap at the image's own resolution, on
 * the Cornerstone viewport element, placed with a CSS transform that maps its pixel grid onto where the image's
 * corners are drawn (from the viewport's own transforms, re-read after every render). So pan, zoom, rotation,
 * flips, window/level and resizing keep it aligned. Click-through; never part of the image data.
 */
import type { ImagePlacement } from '../host/ohifHost';
import { appendViewportChild } from './viewportChild';

const LAYER_ATTR = 'data-ssclnet-heatmap';

export function findLayer(element: HTMLElement): HTMLCanvasElement | null {
  return element.querySelector<HTMLCanvasElement>(`canvas[${LAYER_ATTR}]`);
}

/** Creates (or returns) the layer canvas on `element` and fills it with `rgba` (width x height). */
export function setHeatmapImage(
  element: HTMLElement,
  rgba: Uint8ClampedArray,
  width: number,
  height: number,
): HTMLCanvasElement {
  let layer = findLayer(element);
  if (!layer) {
    layer = appendViewportChild(element, 'canvas', LAYER_ATTR, 'ssclnet-heatmap', {
      position: 'absolute',
      left: '0px',
      top: '0px',
      transformOrigin: '0 0',
      pointerEvents: 'none',
      zIndex: '5',
    });
  }
  layer.width = width;
  layer.height = height;
  layer.style.width = `${width}px`;
  layer.style.height = `${height}px`;
  const ctx = layer.getContext('2d');
  if (ctx) ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return layer;
}

/** CSS matrix() mapping the layer's pixel grid (width x height) onto the placement's corners. */
export function placementMatrix(
  p: Pick<ImagePlacement, 'width' | 'height' | 'topLeft' | 'topRight' | 'bottomLeft'>,
  offset: [number, number] = [0, 0],
): string {
  const [x0, y0] = p.topLeft;
  const a = (p.topRight[0] - x0) / p.width;
  const b = (p.topRight[1] - y0) / p.width;
  const c = (p.bottomLeft[0] - x0) / p.height;
  const d = (p.bottomLeft[1] - y0) / p.height;
  return `matrix(${a}, ${b}, ${c}, ${d}, ${x0 + offset[0]}, ${y0 + offset[1]})`;
}

/** Positions the layer over the image (placement relative to Cornerstone's canvas), or hides it when null. */
export function placeLayer(element: HTMLElement, placement: ImagePlacement | null, opacity: number): void {
  const layer = findLayer(element);
  if (!layer) return;
  if (!placement) {
    layer.style.display = 'none';
    return;
  }
  const er = element.getBoundingClientRect();
  const cr = placement.canvas.getBoundingClientRect();
  layer.style.display = 'block';
  layer.style.opacity = String(opacity);
  layer.style.transform = placementMatrix(placement, [cr.left - er.left, cr.top - er.top]);
}

export function removeHeatmapLayer(element: HTMLElement | null | undefined): void {
  if (element) findLayer(element)?.remove();
}
