/**
 * The "Brain MRI AI" mode (brain MRI slice classification) (default export, loaded by URL as an ES module): OHIF's study browser on
 * the left, our panel on the right, Cornerstone stack viewports, for studies that contain MR series; a toolbar
 * with the classify button; the extension's commands bound to hotkeys.
 */
import { CLASSIFY_BUTTON_ID, COMMANDS, PANEL_ID } from './ids';

export { CLASSIFY_BUTTON_ID, COMMANDS, PANEL_ID };

export const MODE_ID = 'ssclnet';
export const ROUTE_NAME = 'ssclnet';
/** Short enough for the study list's mode button (OHIF cuts longer names: "Brain MRI classi…"). */
export const DISPLAY_NAME = 'Brain MRI AI';

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

export interface ValidityResult {
  valid: boolean;
  description: string;
}

/** OHIF passes the study's modalities joined by backslashes (e.g. "MR\\SR"). */
export function isValidMode({ modalities }: { modalities?: string }): ValidityResult {
  const list = (modalities ?? '')
    .split('\\')
    .map((m) => m.trim().toUpperCase())
    .filter(Boolean);
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
  {
    commandName: COMMANDS.toggleHeatmap,
    label: 'Show/hide the heatmap (where the model looked)',
    keys: ['shift+h'],
    isEditable: true,
  },
  {
    commandName: COMMANDS.saveReport,
    label: 'Save the result to the PACS (DICOM SR)',
    keys: ['shift+s'],
    isEditable: true,
  },
];

/**
 * The toolbar. The viewer's standard tools are the host's own button definitions: OHIF 3.13's cornerstone extension
 * publishes them as the `cornerstone.toolbarButtons` customization (the same list OHIF's basic and longitudinal modes
 * use); the mode picks the ones a radiologist needs for brain MR slices and adds its classify button. Against a host
 * without that customization, the mode falls back to its own copies of the same definitions.
 *
 * MPR: the host's layout selector ('Layout') offers OHIF's MPR preset; the mode creates the 'mpr' tool group its
 * volume viewports use, and the panel classifies the axial plane there (and declines the others).
 */
export const classifyButton = {
  id: CLASSIFY_BUTTON_ID,
  uiType: 'ohif.toolButton',
  props: {
    icon: 'tab-linear',
    label: 'Classify slice',
    tooltip: 'Classify the displayed slice (K)',
    commands: COMMANDS.classifySlice,
    evaluate: 'evaluate.action',
  },
};
/** Our own buttons (the classify button). */
export const toolbarButtons = [classifyButton];

/** The mode's tool groups: the stack viewport's, and the MPR layout's volume viewports'. */
export const TOOL_GROUP_IDS = ['default', 'mpr'];
const setToolActiveToolbar = { commandName: 'setToolActiveToolbar', commandOptions: { toolGroupIds: TOOL_GROUP_IDS } };
const toolButton = (
  id: string,
  icon: string,
  label: string,
  commands: unknown,
  evaluate: unknown = 'evaluate.cornerstoneTool',
  tooltip = label,
) => ({
  id,
  uiType: 'ohif.toolButton',
  props: { icon, label, tooltip, commands, evaluate },
});
/** Copies of OHIF 3.13's definitions (extensions/cornerstone/src/customizations/toolbarButtonsCustomization.ts). */
export const fallbackStandardButtons = [
  { id: 'MoreTools', uiType: 'ohif.toolButtonList', props: { buttonSection: true } },
  toolButton('WindowLevel', 'tool-window-level', 'Window Level', setToolActiveToolbar),
  toolButton('Zoom', 'tool-zoom', 'Zoom', setToolActiveToolbar),
  toolButton('Pan', 'tool-move', 'Pan', setToolActiveToolbar),
  toolButton('StackScroll', 'tool-stack-scroll', 'Stack Scroll', setToolActiveToolbar),
  toolButton('Reset', 'tool-reset', 'Reset View', 'resetViewport', 'evaluate.action'),
  toolButton(
    'invert',
    'tool-invert',
    'Invert',
    'invertViewport',
    'evaluate.viewportProperties.toggle',
    'Invert Colors',
  ),
  toolButton('rotate-right', 'tool-rotate-right', 'Rotate Right', 'rotateViewportCW', 'evaluate.action', 'Rotate +90'),
  toolButton(
    'flipHorizontal',
    'tool-flip-horizontal',
    'Flip Horizontal',
    'flipViewportHorizontal',
    'evaluate.viewportProperties.toggle',
  ),
  toolButton('Capture', 'tool-capture', 'Capture', 'showDownloadViewportModal', 'evaluate.action'),
  { id: 'Layout', uiType: 'ohif.layoutSelector', props: { rows: 3, columns: 4, evaluate: 'evaluate.action' } },
  {
    id: 'windowLevelMenu',
    uiType: 'ohif.windowLevelMenu',
    props: {
      icon: 'WindowLevel',
      label: 'Window Level',
      tooltip: 'Window/level presets',
      evaluate: { name: 'evaluate.windowLevelMenu' },
    },
  },
];

export const PRIMARY_SECTION = 'primary';
/** Window/level presets: OHIF's window-level menu in the viewport's bottom-left corner (as in OHIF's own modes). */
export const WL_PRESETS_SECTION = 'viewportActionMenu.bottomLeft';
export const toolbarSections: Record<string, string[]> = {
  [PRIMARY_SECTION]: ['WindowLevel', 'Zoom', 'Pan', 'StackScroll', 'Reset', 'Layout', 'MoreTools', CLASSIFY_BUTTON_ID],
  MoreTools: ['invert', 'rotate-right', 'flipHorizontal', 'Capture'],
  [WL_PRESETS_SECTION]: ['windowLevelMenu'],
};

interface ButtonDef {
  id: string;
  [k: string]: unknown;
}
/**
 * The buttons the sections name: the host's definitions (`cornerstone.toolbarButtons`) where it has them, our copies
 * otherwise (their tool commands name this mode's 'default' tool group); plus ours.
 */
export function composeToolbarButtons(hostButtons: unknown): ButtonDef[] {
  const wanted = new Set(Object.values(toolbarSections).flat());
  wanted.delete(CLASSIFY_BUTTON_ID);
  const host = new Map<string, ButtonDef>();
  if (Array.isArray(hostButtons))
    for (const b of hostButtons as ButtonDef[]) if (b && typeof b.id === 'string') host.set(b.id, b);
  const out: ButtonDef[] = [];
  for (const fallback of fallbackStandardButtons) {
    if (!wanted.has(fallback.id)) continue;
    out.push(host.get(fallback.id) ?? fallback);
  }
  return [...out, ...toolbarButtons];
}

interface ToolDef {
  toolName: string;
  bindings?: { mouseButton: number }[];
}
interface ModeServices {
  toolGroupService: {
    createToolGroupAndAddTools: (id: string, tools: Record<string, ToolDef[]>) => void;
    destroy: () => void;
  };
  toolbarService?: {
    register: (buttons: unknown[], replace?: boolean) => void;
    updateSection: (section: string, ids: string[]) => void;
  };
  customizationService?: {
    setCustomizations: (customizations: Record<string, unknown>) => void;
    getCustomization?: (id: string) => unknown;
  };
  uiDialogService?: { hideAll?: () => void };
  uiModalService?: { hide?: () => void };
}
interface ModeHookArgs {
  servicesManager: { services: ModeServices };
  extensionManager: {
    getModuleEntry: (
      id: string,
    ) =>
      { exports: { toolNames: Record<string, string>; Enums: { MouseBindings: Record<string, number> } } } | undefined;
  };
  commandsManager?: { runCommand: (name: string, options?: Record<string, unknown>) => unknown };
}

function onModeEnter({ servicesManager, extensionManager, commandsManager }: ModeHookArgs) {
  const tools = extensionManager.getModuleEntry('@ohif/extension-cornerstone.utilityModule.tools');
  if (!tools) throw new Error('ssclnet mode: @ohif/extension-cornerstone tools are not registered');
  const { toolNames, Enums } = tools.exports;
  const mouse = Enums.MouseBindings;
  const viewingTools = () => ({
    active: [
      { toolName: toolNames.WindowLevel, bindings: [{ mouseButton: mouse.Primary }] },
      { toolName: toolNames.Pan, bindings: [{ mouseButton: mouse.Auxiliary }] },
      { toolName: toolNames.Zoom, bindings: [{ mouseButton: mouse.Secondary }] },
      { toolName: toolNames.StackScroll, bindings: [{ mouseButton: mouse.Wheel }] },
    ],
    passive: [],
  });
  // 'default' for the stack viewport; 'mpr' for the three volume viewports of OHIF's MPR layout (the layout
  // selector's MPR preset runs the host's 'mpr' hanging protocol, whose viewports name this tool group).
  for (const id of TOOL_GROUP_IDS)
    servicesManager.services.toolGroupService.createToolGroupAndAddTools(id, viewingTools());
  const { toolbarService, customizationService } = servicesManager.services;
  if (toolbarService) {
    toolbarService.register(
      composeToolbarButtons(customizationService?.getCustomization?.('cornerstone.toolbarButtons')),
    );
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
