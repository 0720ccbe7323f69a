import mode, {
  DISPLAY_NAME,
  MODE_ID,
  ROUTE_NAME,
  extensionDependencies,
  isValidMode,
  modeFactory,
  ssclnetHotkeys,
  toolbarButtons,
  composeToolbarButtons,
} from '../../mode/src/index';
import * as modeIds from '../../mode/src/ids';
import * as extensionIds from '../../extension/src/id';
import { getCommandsModule } from '../../extension/src/commands';
import * as fs from 'node:fs';
import * as path from 'node:path';

const { PANEL_ID } = extensionIds;

describe('ssclnet mode', () => {
  const m = modeFactory({ modeConfiguration: {} });

  test('ids, route and name OHIF lists', () => {
    expect(mode.id).toBe('ssclnet');
    expect(mode.modeFactory).toBe(modeFactory);
    expect(m.id).toBe(MODE_ID);
    expect(m.routeName).toBe(ROUTE_NAME);
    expect(m.displayName).toBe('Brain MRI AI');
    expect(DISPLAY_NAME).toBe(m.displayName);
    expect(m.routes.map((r) => r.path)).toEqual(['ssclnet']);
  });

  test('layout: study browser left, our panel right, cornerstone stack viewports', () => {
    const layout = m.routes[0].layoutTemplate();
    expect(layout.id).toBe('@ohif/extension-default.layoutTemplateModule.viewerLayout');
    expect(layout.props.leftPanels).toEqual(['@ohif/extension-default.panelModule.seriesList']);
    expect(layout.props.rightPanels).toEqual([PANEL_ID]);
    expect(PANEL_ID).toBe('@ssclnet/extension-ohif.panelModule.ssclnetPanel');
    expect(layout.props.viewports).toEqual([
      {
        namespace: '@ohif/extension-cornerstone.viewportModule.cornerstone',
        displaySetsToDisplay: ['@ohif/extension-default.sopClassHandlerModule.stack'],
      },
    ]);
    expect(m.sopClassHandlers).toEqual(['@ohif/extension-default.sopClassHandlerModule.stack']);
  });

  test('depends only on OHIF extensions (a URL-loaded extension named here breaks the route)', () => {
    expect(Object.keys(extensionDependencies).sort()).toEqual([
      '@ohif/extension-cornerstone',
      '@ohif/extension-default',
    ]);
    expect(m.extensions).toBe(extensionDependencies);
  });

  test('valid for studies with MR series', () => {
    expect(isValidMode({ modalities: 'MR' }).valid).toBe(true);
    expect(isValidMode({ modalities: 'SR\\MR' }).valid).toBe(true);
    expect(isValidMode({ modalities: 'mr' }).valid).toBe(true);
  });

  test('not valid otherwise, saying why', () => {
    const ct = isValidMode({ modalities: 'CT\\SR' });
    expect(ct.valid).toBe(false);
    expect(ct.description).toBe('Brain MRI classification needs an MR series; it has CT, SR');
    const none = isValidMode({ modalities: '' });
    expect(none.valid).toBe(false);
    expect(none.description).toMatch(/modalities are unknown/);
    expect(isValidMode({}).valid).toBe(false);
  });

  test("the mode's copy of the extension's names equals the extension's, and the mode imports no extension source", () => {
    expect(modeIds.EXTENSION_ID).toBe(extensionIds.EXTENSION_ID);
    expect(modeIds.PANEL_ID).toBe(extensionIds.PANEL_ID);
    expect(modeIds.CLASSIFY_BUTTON_ID).toBe(extensionIds.CLASSIFY_BUTTON_ID);
    for (const [key, name] of Object.entries(modeIds.COMMANDS))
      expect(extensionIds.COMMANDS[key as keyof typeof extensionIds.COMMANDS]).toBe(name);
    const modeSources = fs
      .readdirSync(path.join(__dirname, '../../mode/src'))
      .map((f) => fs.readFileSync(path.join(__dirname, '../../mode/src', f), 'utf8'));
    for (const src of modeSources) expect(src).not.toMatch(/from ['"][^'"]*extension\//);
  });

  test("hotkeys: every extension command the mode binds exists, on keys OHIF's defaults leave free", () => {
    const { definitions } = getCommandsModule({ servicesManager: { services: {} as never } });
    for (const h of ssclnetHotkeys) expect(definitions).toHaveProperty([h.commandName]);
    expect(ssclnetHotkeys.map((h) => h.commandName).sort()).toEqual([
      'ssclnet.cancel',
      'ssclnet.classifySeries',
      'ssclnet.classifySlice',
      'ssclnet.saveReport',
      'ssclnet.switchModel',
      'ssclnet.toggleHeatmap',
      'ssclnet.toggleOverlay',
    ]);
    // OHIF 3.13's default bindings (platform/core/src/defaults/hotkeyBindings.ts) use these keys already.
    const taken = [
      'z',
      '+',
      '-',
      '=',
      'r',
      'l',
      'h',
      'v',
      'c',
      'i',
      'right',
      'left',
      'pageup',
      'pagedown',
      '.',
      ',',
      'down',
      'up',
      'home',
      'end',
      'space',
      'esc',
      '1',
      '2',
      '3',
      '4',
      'backspace',
      'enter',
      'ctrl+z',
      'ctrl+y',
      'n',
      ']',
      '[',
      'e',
      'b',
      'a',
    ];
    for (const h of ssclnetHotkeys) for (const k of h.keys) expect(taken).not.toContain(k);
    // The README lists them.
    const readme = fs.readFileSync(path.join(__dirname, '../../README.md'), 'utf8');
    for (const h of ssclnetHotkeys) expect(readme).toContain(h.commandName);
  });

  test("the standard buttons are the host's own definitions when the host publishes cornerstone.toolbarButtons", () => {
    const hostZoom = { id: 'Zoom', uiType: 'ohif.toolButton', props: { icon: 'tool-zoom', label: 'Zoom (host)' } };
    const buttons = composeToolbarButtons([hostZoom, { id: 'Length', uiType: 'ohif.toolButton', props: {} }]);
    expect(buttons.find((b) => b.id === 'Zoom')).toBe(hostZoom);
    expect(buttons.find((b) => b.id === 'Length')).toBeUndefined(); // only what the sections name
    expect(buttons.find((b) => b.id === 'Pan')).toBeDefined(); // our copy where the host has none
  });

  test('onModeEnter binds the stack scroll to the wheel in the default tool group, adds the toolbar button and hotkeys, loads the model', () => {
    type Tools = Record<string, Array<{ toolName: string; bindings?: { mouseButton: number }[] }>>;
    const created: Array<[string, Tools]> = [];
    const registered: unknown[] = [];
    const sections: Record<string, string[]> = {};
    const customizations: Record<string, unknown>[] = [];
    const ran: string[] = [];
    const services = {
      toolGroupService: {
        createToolGroupAndAddTools: (id: string, tools: Tools) => {
          created.push([id, tools]);
        },
        destroy: () => {},
      },
      toolbarService: {
        register: (b: unknown[]) => {
          registered.push(...b);
        },
        updateSection: (s: string, ids: string[]) => {
          sections[s] = ids;
        },
      },
      customizationService: {
        setCustomizations: (c: Record<string, unknown>) => {
          customizations.push(c);
        },
        getCustomization: () => undefined,
      },
    };
    const toolNames = { WindowLevel: 'WindowLevel', Pan: 'Pan', Zoom: 'Zoom', StackScroll: 'StackScroll' };
    const Enums = { MouseBindings: { Primary: 1, Auxiliary: 4, Secondary: 2, Wheel: 524288 } };
    m.onModeEnter({
      servicesManager: { services },
      extensionManager: { getModuleEntry: () => ({ exports: { toolNames, Enums } }) },
      commandsManager: {
        runCommand: (n: string) => {
          ran.push(n);
        },
      },
    });
    // OHIF's standard tools (our copies here: this stand-in host has no 'cornerstone.toolbarButtons') and our button.
    const ids = (registered as { id: string }[]).map((b) => b.id);
    expect(ids).toEqual(
      expect.arrayContaining([
        'WindowLevel',
        'Zoom',
        'Pan',
        'StackScroll',
        'Reset',
        'Layout',
        'windowLevelMenu',
        'ssclnetClassify',
      ]),
    );
    expect(registered).toEqual(expect.arrayContaining(toolbarButtons));
    expect(sections.primary).toEqual([
      'WindowLevel',
      'Zoom',
      'Pan',
      'StackScroll',
      'Reset',
      'Layout',
      'MoreTools',
      'ssclnetClassify',
    ]);
    expect(sections['viewportActionMenu.bottomLeft']).toEqual(['windowLevelMenu']);
    // Every id a section names is registered.
    for (const list of Object.values(sections)) for (const id of list) expect(ids).toContain(id);
    expect(toolbarButtons[0]).toMatchObject({
      uiType: 'ohif.toolButton',
      props: { commands: 'ssclnet.classifySlice' },
    });
    expect(customizations).toEqual([{ 'ohif.hotkeyBindings': { $push: ssclnetHotkeys } }]);
    expect(ran).toEqual(['ssclnet.loadModel']);
    // The stack viewport's tool group and the MPR layout's ('mpr', named by the host's MPR hanging protocol).
    expect(created.map(([id]) => id)).toEqual(['default', 'mpr']);
    for (const [, tools] of created)
      expect(tools.active.find((t) => t.toolName === 'StackScroll')?.bindings).toEqual([{ mouseButton: 524288 }]);
    expect(() =>
      m.onModeEnter({ servicesManager: { services }, extensionManager: { getModuleEntry: () => undefined } }),
    ).toThrow(/tools are not registered/);
  });
});
