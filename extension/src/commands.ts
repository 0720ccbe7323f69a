/**
 * The extension's commands module (`getCommandsModule`): OHIF runs these by name from hotkeys, toolbar buttons and
 * our panel (`commandsManager.runCommand('ssclnet.classifySlice')`). Actions are thin: they call the services.
 */
import { COMMANDS, COMMANDS_CONTEXT } from './id';
import type { ClassificationService } from './services/ClassificationService';
import type { ModelService } from './services/ModelService';
import { download, historyToCsv, historyToJson } from './classification/exportHistory';

export interface SsclnetServices {
  ssclnetModelService: ModelService;
  ssclnetClassificationService: ClassificationService;
}

export function getCommandsModule({ servicesManager }: { servicesManager: { services: SsclnetServices } }) {
  const model = () => servicesManager.services.ssclnetModelService;
  const classification = () => servicesManager.services.ssclnetClassificationService;

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
    exportHistory: ({ format = 'csv' }: { format?: 'csv' | 'json' } = {}) => {
      const history = classification().getState().history;
      if (!history.length) return;
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      if (format === 'json') download(`ssclnet-classifications-${stamp}.json`, historyToJson(history), 'application/json');
      else download(`ssclnet-classifications-${stamp}.csv`, historyToCsv(history), 'text/csv');
    },
  };

  const definitions = Object.fromEntries(
    (Object.keys(actions) as (keyof typeof actions)[]).map((key) => [COMMANDS[key], { commandFn: actions[key] }]),
  ) as Record<(typeof COMMANDS)[keyof typeof COMMANDS], { commandFn: (options?: never) => unknown }>;

  return { actions, definitions, defaultContext: COMMANDS_CONTEXT };
}
