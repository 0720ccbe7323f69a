/**
 * The extension's names the mode needs. The mode does not import the extension's sources (it is a separate bundle
 * that must not carry extension code); tests/unit/mode.test.ts checks these equal extension/src/id.ts.
 */
export const EXTENSION_ID = '@ssclnet/extension-ohif';
export const PANEL_ID = `${EXTENSION_ID}.panelModule.ssclnetPanel`;

export const COMMANDS = {
  classifySlice: 'ssclnet.classifySlice',
  classifySeries: 'ssclnet.classifySeries',
  cancel: 'ssclnet.cancel',
  toggleOverlay: 'ssclnet.toggleOverlay',
  switchModel: 'ssclnet.switchModel',
  loadModel: 'ssclnet.loadModel',
  toggleHeatmap: 'ssclnet.toggleHeatmap',
  saveReport: 'ssclnet.saveReport',
} as const;

export const CLASSIFY_BUTTON_ID = 'ssclnetClassify';
