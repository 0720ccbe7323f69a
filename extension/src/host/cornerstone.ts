/**
 * The host's Cornerstone, as OHIF hands it to extensions: the cornerstone extension's utility module
 * (`@ohif/extension-cornerstone.utilityModule.common` → `getCornerstoneLibraries()`). Read at call time (the
 * cornerstone extension may register after us); never a second copy of Cornerstone, never `window.cornerstone`.
 */
import type { ImageLike } from '../classification/pixelPath';

export type MetaData = { get: (type: string, imageId: string) => Record<string, unknown> | undefined };

/** The parts of @cornerstonejs/core we use. */
export interface CornerstoneLike {
  metaData?: MetaData;
  imageLoader?: { loadAndCacheImage: (imageId: string) => Promise<ImageLike> };
  utilities?: { jumpToSlice?: (element: HTMLElement, options: { imageIndex: number }) => Promise<void> };
  Enums?: { Events?: Record<string, string> };
}

export interface ExtensionManagerLike {
  getModuleEntry: (id: string) => { exports?: Record<string, unknown> } | undefined;
}

export const CORNERSTONE_UTILITY = '@ohif/extension-cornerstone.utilityModule.common';

export function cornerstoneFrom(extensionManager: ExtensionManagerLike | undefined): () => CornerstoneLike | null {
  return () => {
    const get = extensionManager?.getModuleEntry(CORNERSTONE_UTILITY)?.exports?.getCornerstoneLibraries as
      (() => { cornerstone?: CornerstoneLike }) | undefined;
    try {
      return get?.()?.cornerstone ?? null;
    } catch {
      return null;
    }
  };
}
