/**
 * The per-slice label drawn on the viewport: a small element attached to the Cornerstone viewport element (not
 * the canvas, so it is never part of the image data), above OHIF's top-right overlay text, click-through.
 */
const OVERLAY_ATTR = 'data-ssclnet-overlay';

export function overlayText(label: string, probability: number, version: string): string {
  return `${label} ${(probability * 100).toFixed(1)}% · ${version}`;
}

/** Shows `text` on `element`, or removes the label when text is null. Returns the label element, if any. */
export function setViewportOverlay(element: HTMLElement | null | undefined, text: string | null): HTMLElement | null {
  if (!element) return null;
  let label = element.querySelector<HTMLElement>(`[${OVERLAY_ATTR}]`);
  if (text === null) {
    label?.remove();
    return null;
  }
  if (!label) {
    label = element.ownerDocument.createElement('div');
    label.setAttribute(OVERLAY_ATTR, '');
    label.setAttribute('data-testid', 'ssclnet-overlay');
    Object.assign(label.style, {
      position: 'absolute', top: '36px', right: '12px', zIndex: '10', pointerEvents: 'none',
      background: 'rgba(0, 0, 0, 0.6)', color: '#5acce6', font: '600 13px Inter, sans-serif',
      padding: '2px 6px', borderRadius: '3px',
    });
    if (getComputedStyle(element).position === 'static') element.style.position = 'relative';
    element.appendChild(label);
  }
  label.textContent = text;
  return label;
}
