/**
 * The extension's commands module (`getCommandsModule`): OHIF runs these by name from hotkeys, toolbar buttons and
 * our panel (`commandsManager.runCommand('ssclnet.classifySlice')`). Actions are thin: they call the services.
 */
import { COMMANDS, COMMANDS_CONTEXT } from './id';
import type { ClassificationService } from './services/ClassificationService';
import type { ModelService } from './services/ModelService';
import type { ReportService } from './services/ReportService';
import type { HeatmapService } from './services/HeatmapService';
import { download, historyToCsv, historyToJson } from './classification/exportHistory';

export interface SsclnetServices {
  ssclnetModelService: ModelService;
  ssclnetClassificationService: ClassificationService;
  ssclnetReportService?: ReportService;
  ssclnetHeatmapService?: HeatmapService;
}

export function getCommandsModule({ servicesManager }: { servicesManager: { services: SsclnetServices } }) {
  const model = () => servicesManager.services.ssclnetModelService;
  const classification = () => servicesManager.services.ssclnetClassificationService;
  const report = () => servicesManager.services.ssclnetReportService;
  const heatmap = () => servicesManager.services.ssclnetHeatmapService;

  const actions = {
    /** Classify the displayed slice of the active viewport (or `viewportId`). */
    classifySlice: ({ viewportId }: { viewportId?: string } = {}) => classification().classifySlice({ viewportId }),
    /** Classify every slice of the active viewport's series (or `viewportId`'s). */
    classifySeries: ({ viewportId }: { viewportId?: string } = {}) => classification().classifySeries({ viewportId }),
    /** Stop a series run and drop a slice classification in flight. */
    cancel: () => classification().cancel(),
    toggleOverlay: () => classification().toggleOverlay(),
    setOverlay: ({ value }: { value: boolean }) => classification().setOverlay(!!value),
    setAuto: ({ value }: { value: boolean }) => classification().setAuto(!!value),
    /**
     * Switch to `version`, or to the registry's latest: an update already announced is switched to; otherwise the
     * registry is checked first and a different `latest` is loaded (the current model stays until it is verified).
     */
    switchModel: async ({ version }: { version?: string } = {}) => {
      const m = model();
      if (version) return m.switchTo(version);
      const target = m.getState().update.available ?? (await m.checkForUpdate());
      return target ? m.switchTo(target) : false;
    },
    loadModel: () => model().ensureLoaded(),
    checkForUpdate: () => model().checkForUpdate(),
    rollBackModel: () => model().rollBack(),
    classifyFile: ({ file }: { file: File }) => classification().classifyFile(file),
    showSlice: ({ index }: { index: number }) => classification().showSlice(index),
    /** Shows the slice of a history row (its series in the active viewport when needed). */
    showHistoryEntry: ({ entry }: { entry: Parameters<ClassificationService['showHistoryEntry']>[0] }) =>
      classification().showHistoryEntry(entry),
    /** Stores the SR of the last series run (or the displayed series' classified slices) in the PACS, or downloads it. */
    saveReport: () => report()?.saveReport() ?? false,
    /** Looks up this algorithm's earlier SRs in the displayed study. */
    findPriorResults: () => report()?.findPriorResults() ?? [],
    /** Shows a prior SR's results in the strip and the overlay (no model run). */
    showPriorResult: ({ sopInstanceUID }: { sopInstanceUID: string }) => report()?.showPrior(sopInstanceUID) ?? false,
    /** Shows / hides the heatmap (Grad-CAM of the displayed slice's predicted class) on the viewport. */
    toggleHeatmap: () => heatmap()?.toggle() ?? false,
    setHeatmap: ({ value }: { value: boolean }) => heatmap()?.setEnabled(!!value),
    setHeatmapOpacity: ({ value }: { value: number }) => heatmap()?.setOpacity(Number(value)),
    exportHistory: ({ format = 'csv' }: { format?: 'csv' | 'json' } = {}) => {
      const history = classification().getState().history;
      if (!history.length) return;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      if (format === 'json')
        download(`ssclnet-classifications-${stamp}.json`, historyToJson(history), 'application/json');
      else download(`ssclnet-classifications-${stamp}.csv`, historyToCsv(history), 'text/csv');
    },
  };

  const definitions = Object.fromEntries(
    (Object.keys(actions) as (keyof typeof actions)[]).map((key) => [COMMANDS[key], { commandFn: actions[key] }]),
  ) as Record<(typeof COMMANDS)[keyof typeof COMMANDS], { commandFn: (options?: never) => unknown }>;

  return { actions, definitions, defaultContext: COMMANDS_CONTEXT };
}
