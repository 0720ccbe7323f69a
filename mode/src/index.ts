/**
 * The "Brain MRI classification" mode (default export, loaded by URL as an ES module): OHIF's study browser on
 * the left, our panel on the right, Cornerstone stack viewports, for studies that contain MR series; a toolbar
 * with the classify button; the extension's commands bound to hotkeys.
 */
import { CLASSIFY_BUTTON_ID, COMMANDS, PANEL_ID } from './ids';

export { CLASSIFY_BUTTON_ID, COMMANDS, PANEL_ID };

export const MODE_ID = 'ssclnet';
export const ROUTE_NAME = 'ssclnet';
export const DISPLAY_NAME = 'Brain MRI classification';

const ohif = {
  layout: '@ohif/extension-default.layoutTemplateModule.viewerLayout',
  sopClassHandler: '@ohif/extension-default.sopClassHandlerModule.stack',
  hangingProtocol: 'default',
  studyBrowser: '@ohif/extension-default.panelModule.seriesList',
};
const cornerstone = { viewport: '@ohif/extension-cornerstone.viewportModule.cornerstone' };

/**
 * Only OHIF's own extensions: a URL-loaded extension named here makes OHIF try to import it by id and the route
 * fails; our panel is found by its full name anyway.
 */
export const extensionDependencies = {
  '@ohif/extension-default': '^3.0.0',
  '@ohif/extension-cornerstone': '^3.0.0',
};

export interface ValidityResult { valid: boolean; description: string }

/** OHIF passes the study's modalities joined by backslashes (e.g. "MR\\SR"). */
export function isValidMode({ modalities }: { modalities?: string }): ValidityResult {
  const list = (modalities ?? '').split('\\').map((m) => m.trim().toUpperCase()).filter(Boolean);
  if (list.includes('MR')) return { valid: true, description: 'The study has MR series' };
  const found = list.length ? `it has ${list.join(', ')}` : 'its modalities are unknown';
  return { valid: false, description: `Brain MRI classification needs an MR series; ${found}` };
}

// Keyboard scrolling and basic view manipulation: command names from OHIF's default hotkey bindings (OHIF 3.13
// binds them by default through the 'ohif.hotkeyBindings' customization).
const hotkeys = [
  { commandName: 'nextImage', label: 'Next Image', keys: ['down'] },
  { commandName: 'previousImage', label: 'Previous Image', keys: ['up'] },
  { commandName: 'fitViewportToWindow', label: 'Zoom to Fit', keys: ['='] },
  { commandName: 'invertViewport', label: 'Invert', keys: ['i'] },
];

/**
 * The extension's commands on keys OHIF's defaults leave free. Added to OHIF's 'ohif.hotkeyBindings' customization
 * on mode entry (OHIF 3.13 reads hotkeys from there, after onModeEnter), so they also appear in the hotkey
 * preferences and can be changed there. Listed in the README.
 */
export const ssclnetHotkeys = [
  { commandName: COMMANDS.classifySlice, label: 'Classify slice', keys: ['k'], isEditable: true },
  { commandName: COMMANDS.classifySeries, label: 'Classify series', keys: ['shift+k'], isEditable: true },
  { commandName: COMMANDS.cancel, label: 'Cancel classification', keys: ['shift+x'], isEditable: true },
  { commandName: COMMANDS.toggleOverlay, label: 'Show/hide classification overlay', keys: ['o'], isEditable: true },
  { commandName: COMMANDS.switchModel, label: 'Switch to the latest model', keys: ['shift+m'], isEditable: true },
];

/**
 * The toolbar: the host's toolbar service with a button of the host's standard type ('ohif.toolButton', from
 * OHIF's default extension) that runs our classify command. Issue 18 extends this section with OHIF's standard
 * viewer tools (window/level, zoom, pan, layout, ...).
 */
export const toolbarButtons = [
  {
    id: CLASSIFY_BUTTON_ID,
    uiType: 'ohif.toolButton',
    props: {
      icon: 'tab-linear',
      label: 'Classify slice',
      tooltip: 'Classify the displayed slice (K)',
      commands: COMMANDS.classifySlice,
      evaluate: 'evaluate.action',
    },
  },
];
export const PRIMARY_SECTION = 'primary';
export const toolbarSections = { [PRIMARY_SECTION]: [CLASSIFY_BUTTON_ID] };

interface ToolDef { toolName: string; bindings?: { mouseButton: number }[] }
interface ModeServices {
  toolGroupService: { createToolGroupAndAddTools: (id: string, tools: Record<string, ToolDef[]>) => void; destroy: () => void };
  toolbarService?: { register: (buttons: unknown[], replace?: boolean) => void; updateSection: (section: string, ids: string[]) => void };
  customizationService?: { setCustomizations: (customizations: Record<string, unknown>) => void };
  uiDialogService?: { hideAll?: () => void };
  uiModalService?: { hide?: () => void };
}
interface ModeHookArgs {
  servicesManager: { services: ModeServices };
  extensionManager: { getModuleEntry: (id: string) => { exports: { toolNames: Record<string, string>; Enums: { MouseBindings: Record<string, number> } } } | undefined };
  commandsManager?: { runCommand: (name: string, options?: Record<string, unknown>) => unknown };
}

function onModeEnter({ servicesManager, extensionManager, commandsManager }: ModeHookArgs) {
  const tools = extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.tools');
  if (!tools) throw new Error('ssclnet mode: @ohif/extension-cornerstone tools are not registered');
  const { toolNames, Enums } = tools.exports;
  const mouse = Enums.MouseBindings;
  servicesManager.services.toolGroupService.createToolGroupAndAddTools('default', {
    active: [
      { toolName: toolNames.WindowLevel, bindings: [{ mouseButton: mouse.Primary }] },
      { toolName: toolNames.Pan, bindings: [{ mouseButton: mouse.Auxiliary }] },
      { toolName: toolNames.Zoom, bindings: [{ mouseButton: mouse.Secondary }] },
      { toolName: toolNames.StackScroll, bindings: [{ mouseButton: mouse.Wheel }] },
    ],
    passive: [],
  });
  const { toolbarService, customizationService } = servicesManager.services;
  if (toolbarService) {
    toolbarService.register(toolbarButtons);
    for (const [section, ids] of Object.entries(toolbarSections)) toolbarService.updateSection(section, ids);
  }
  customizationService?.setCustomizations({ 'ohif.hotkeyBindings': { $push: ssclnetHotkeys } });
  // Start reading the registry and loading the model while the images load (the panel needs it anyway).
  void Promise.resolve(commandsManager?.runCommand(COMMANDS.loadModel)).catch(() => undefined);
}

function onModeExit({ servicesManager }: Pick<ModeHookArgs, 'servicesManager'>) {
  const { toolGroupService, uiDialogService, uiModalService } = servicesManager.services;
  uiDialogService?.hideAll?.();
  uiModalService?.hide?.();
  toolGroupService.destroy();
}

export function modeFactory(_args: { modeConfiguration?: unknown } = {}) {
  return {
    id: MODE_ID,
    routeName: ROUTE_NAME,
    displayName: DISPLAY_NAME,
    onModeEnter,
    onModeExit,
    validationTags: { study: [], series: [] },
    isValidMode,
    routes: [
      {
        path: ROUTE_NAME,
        layoutTemplate: () => ({
          id: ohif.layout,
          props: {
            leftPanels: [ohif.studyBrowser],
            leftPanelResizable: true,
            rightPanels: [PANEL_ID],
            rightPanelResizable: true,
            viewports: [{ namespace: cornerstone.viewport, displaySetsToDisplay: [ohif.sopClassHandler] }],
          },
        }),
      },
    ],
    extensions: extensionDependencies,
    hangingProtocol: ohif.hangingProtocol,
    sopClassHandlers: [ohif.sopClassHandler],
    hotkeys,
  };
}

const mode = { id: MODE_ID, modeFactory, extensionDependencies };
export default mode;
