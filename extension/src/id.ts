/**
 * Names OHIF uses to find our modules, commands and buttons. The mode bundle does not import this file: it keeps
 * its own copy of the few names it needs (mode/src/ids.ts), and a unit test checks the two agree.
 */
export const EXTENSION_ID = '@ssclnet/extension-ohif';
export const PANEL_NAME = 'ssclnetPanel';
/** Full name a mode puts in its layout's rightPanels. */
export const PANEL_ID = `${EXTENSION_ID}.panelModule.${PANEL_NAME}`;
/** A dicomjson data source that knows its manifest URL (see staticJsonDataSource.ts). */
export const STATIC_JSON_DATA_SOURCE = 'staticJson';
export const STATIC_JSON_NAMESPACE = `${EXTENSION_ID}.dataSourcesModule.${STATIC_JSON_DATA_SOURCE}`;
export const OHIF_DICOMJSON_NAMESPACE = '@ohif/extension-default.dataSourcesModule.dicomjson';

/** The commands context of our commands module. */
export const COMMANDS_CONTEXT = 'SSCLNET';

/** Command names, namespaced to the extension (hotkeys and toolbar buttons run them by name). */
export const COMMANDS = {
  classifySlice: 'ssclnet.classifySlice',
  classifySeries: 'ssclnet.classifySeries',
  cancel: 'ssclnet.cancel',
  toggleOverlay: 'ssclnet.toggleOverlay',
  switchModel: 'ssclnet.switchModel',
  loadModel: 'ssclnet.loadModel',
  checkForUpdate: 'ssclnet.checkForUpdate',
  rollBackModel: 'ssclnet.rollBackModel',
  setAuto: 'ssclnet.setAuto',
  setOverlay: 'ssclnet.setOverlay',
  classifyFile: 'ssclnet.classifyFile',
  showSlice: 'ssclnet.showSlice',
  exportHistory: 'ssclnet.exportHistory',
  showHistoryEntry: 'ssclnet.showHistoryEntry',
  saveReport: 'ssclnet.saveReport',
  findPriorResults: 'ssclnet.findPriorResults',
  showPriorResult: 'ssclnet.showPriorResult',
  toggleHeatmap: 'ssclnet.toggleHeatmap',
  setHeatmap: 'ssclnet.setHeatmap',
  setHeatmapOpacity: 'ssclnet.setHeatmapOpacity',
} as const;

/** The toolbar button that classifies the displayed slice. */
export const CLASSIFY_BUTTON_ID = 'ssclnetClassify';
