/**
 * The per-slice label drawn on the viewport: a small element attached to the Cornerstone viewport element (not
 * the canvas, so it is never part of the image data), above OHIF's top-right overlay text, click-through.
 */
import type { Result } from '../engine/types';
import { className } from './plainWords';
import { appendViewportChild } from './viewportChild';

const OVERLAY_ATTR = 'data-ssclnet-overlay';
export const OVERLAY_COLOR = '#5acce6';
/** Declined slices are grey everywhere (overlay, strip, card, history). */
export const DECLINED_COLOR = '#9aa4b2';

export function overlayText(label: string, probability: number, version: string): string {
  return `${label} ${(probability * 100).toFixed(1)}% · ${version}`;
}

/** The text for a result: the top class, or for a declined slice why it is outside the model's range. */
export function overlayTextFor(c: Result): string {
  if (c.outOfRange) return `Outside the model's range: ${c.outOfRange.reason} · ${c.modelVersion}`;
  return overlayText(className(c.top.label), c.top.probability, c.modelVersion);
}

/** Shows `text` on `element`, or removes the label when text is null. Returns the label element, if any. */
export function setViewportOverlay(
  element: HTMLElement | null | undefined,
  text: string | null,
  declined = false,
): HTMLElement | null {
  if (!element) return null;
  let label = element.querySelector<HTMLElement>(`[${OVERLAY_ATTR}]`);
  if (text === null) {
    label?.remove();
    return null;
  }
  if (!label) {
    label = appendViewportChild(element, 'div', OVERLAY_ATTR, 'ssclnet-overlay', {
      position: 'absolute',
      top: '36px',
      right: '12px',
      zIndex: '10',
      pointerEvents: 'none',
      background: 'rgba(0, 0, 0, 0.6)',
      color: OVERLAY_COLOR,
      font: '600 13px Inter, sans-serif',
      padding: '2px 6px',
      borderRadius: '3px',
    });
  }
  label.textContent = text;
  label.style.color = declined ? DECLINED_COLOR : OVERLAY_COLOR;
  label.setAttribute('data-declined', declined ? 'true' : 'false');
  return label;
}
