/**
 * Shows an instance of any open series in the active viewport (a click on a history row of another series): the
 * display set is put into the active viewport with OHIF's viewport grid service, opened at the instance's index.
 */
interface DisplaySetLike {
  displaySetInstanceUID: string;
  SeriesInstanceUID?: string;
  instances?: { SOPInstanceUID?: string }[];
}
export interface ShowInstanceServices {
  displaySetService: { getActiveDisplaySets?: () => DisplaySetLike[] };
  viewportGridService: {
    getActiveViewportId: () => string | null | undefined;
    setDisplaySetsForViewport?: (args: {
      viewportId: string;
      displaySetInstanceUIDs: string[];
      viewportOptions?: Record<string, unknown>;
    }) => unknown;
  };
}

export async function showInstance(
  services: ShowInstanceServices,
  seriesInstanceUID: string,
  sopInstanceUID: string,
): Promise<boolean> {
  const sets = services.displaySetService.getActiveDisplaySets?.() ?? [];
  const ds = sets.find(
    (d) => d.SeriesInstanceUID === seriesInstanceUID && d.instances?.some((i) => i.SOPInstanceUID === sopInstanceUID),
  );
  const viewportId = services.viewportGridService.getActiveViewportId();
  if (!ds || !viewportId || !services.viewportGridService.setDisplaySetsForViewport) return false;
  const index = ds.instances!.findIndex((i) => i.SOPInstanceUID === sopInstanceUID);
  await services.viewportGridService.setDisplaySetsForViewport({
    viewportId,
    displaySetInstanceUIDs: [ds.displaySetInstanceUID],
    viewportOptions: { initialImageOptions: { index } },
  });
  return true;
}
