/**
 * What the viewport's own layers (the label in overlay.ts, the heatmap in heatmapLayer.ts) share: an element of ours
 * attached to the Cornerstone viewport element (never the canvas, so never part of the image data), found again by
 * a marker attribute.
 */

/** Creates an element marked with `attr` (and `data-testid`), styled, appended to `element` (made a positioning box). */
export function appendViewportChild<K extends keyof HTMLElementTagNameMap>(
  element: HTMLElement,
  tag: K,
  attr: string,
  testId: string,
  style: Partial<CSSStyleDeclaration>,
): HTMLElementTagNameMap[K] {
  const child = element.ownerDocument.createElement(tag);
  child.setAttribute(attr, '');
  child.setAttribute('data-testid', testId);
  Object.assign(child.style, style);
  if (getComputedStyle(element).position === 'static') element.style.position = 'relative';
  element.appendChild(child);
  return child;
}
