/** @jest-environment jsdom */
// Registers our extension with @ohif/core 3.13.2's own ExtensionManager, as the viewer does at start-up.
//
// @ohif/core's UMD build requires its imaging peers at load time (@cornerstonejs/core, which is ESM-only under
// jest, @cornerstonejs/metadata, dcmjs, gl-matrix). ExtensionManager uses none of them, so they are replaced by
// an inert deep proxy that only has to survive the bundle's load-time destructuring.
function deepStub(): any {
  const fn = function () {} as any;
  return new Proxy(fn, {
    get: (_t, key) => (key === '__esModule' ? false : key === Symbol.toPrimitive ? () => '' : deepStub()),
    apply: () => deepStub(),
    construct: () => deepStub(),
  });
}
jest.mock('@cornerstonejs/core', () => deepStub(), { virtual: true });
jest.mock('@cornerstonejs/metadata', () => deepStub(), { virtual: true });
jest.mock('dcmjs', () => deepStub(), { virtual: true });
jest.mock('gl-matrix', () => deepStub(), { virtual: true });

import extension from '../../extension/src/index';
import { modeFactory, ssclnetHotkeys, toolbarButtons } from '../../mode/src/index';
import { COMMANDS, EXTENSION_ID, PANEL_ID } from '../../extension/src/id';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const core = require('@ohif/core');

function makeManager(dataSources: unknown[]) {
  const commandsManager = new core.CommandsManager();
  const servicesManager = new core.ServicesManager(commandsManager);
  const extensionManager = new core.ExtensionManager({
    commandsManager,
    servicesManager,
    hotkeysManager: {},
    appConfig: { dataSources },
  });
  return { extensionManager, servicesManager, commandsManager };
}

// What OHIF's default extension contributes that we rely on: the dicomjson data source (a recorder here).
const seen: string[] = [];
const fakeDefaultExtension = {
  id: '@ohif/extension-default',
  getDataSourcesModule: () => [
    {
      name: 'dicomjson',
      type: 'jsonApi',
      createDataSource: (config: { name: string }) => ({
        initialize: ({ query }: { query: URLSearchParams }) =>
          seen.push(`initialize ${config.name} ${query.get('url')}`),
        getStudyInstanceUIDs: () => ['1.2.3', '4.5.6'],
        query: { studies: { search: async () => [] } },
      }),
    },
  ],
};

const staticJsonEntry = {
  namespace: `${EXTENSION_ID}.dataSourcesModule.staticJson`,
  sourceName: 'dicomjson',
  configuration: { name: 'json', manifestUrl: '/sample-study/manifest.json' },
};

describe('the extension in @ohif/core ExtensionManager', () => {
  test('registers under its id with the panel the mode names', async () => {
    const { extensionManager } = makeManager([]);
    await extensionManager.registerExtension(extension);
    expect(extensionManager.registeredExtensionIds).toContain('@ssclnet/extension-ohif');
    const layout = modeFactory().routes[0].layoutTemplate();
    for (const name of layout.props.rightPanels) {
      const entry = extensionManager.getModuleEntry(name);
      expect(entry).toBeDefined();
      expect(entry.name).toBe('ssclnetPanel');
      expect(entry.label).toBe('Brain MRI AI'); // plain words on the tab (issue 18)
      expect(typeof entry.component).toBe('function');
      expect(entry.component.prototype.isReactComponent).toBeTruthy(); // a class: no host-React hooks
    }
    expect(layout.props.rightPanels).toEqual([PANEL_ID]);
  });

  test('creates the configured dicomjson data source through OHIF dicomjson', async () => {
    const { extensionManager } = makeManager([staticJsonEntry]);
    await extensionManager.registerExtensions([fakeDefaultExtension, extension], [staticJsonEntry]);
    const [api] = extensionManager.getDataSources('dicomjson');
    expect(api).toBeDefined();
    await api.initialize({ query: new URLSearchParams('StudyInstanceUIDs=4.5.6') });
    expect(seen).toEqual(['initialize json /sample-study/manifest.json']);
    expect(api.getStudyInstanceUIDs({ params: {}, query: new URLSearchParams('StudyInstanceUIDs=4.5.6') })).toEqual([
      '4.5.6',
    ]);
  });

  test("the mode's hotkeys are commands in OHIF's default bindings", () => {
    const known = new Set(core.defaults.hotkeyBindings.map((b: { commandName: string }) => b.commandName));
    for (const h of modeFactory().hotkeys) expect(known.has(h.commandName)).toBe(true);
  });

  test("preRegistration registers our services with OHIF's ServicesManager; the commands, hotkeys and button resolve", async () => {
    const { extensionManager, servicesManager, commandsManager } = makeManager([]);
    await extensionManager.registerExtension(extension);
    const { ssclnetModelService, ssclnetClassificationService, SsclnetModelService } = servicesManager.services;
    expect(ssclnetModelService).toBeDefined();
    expect(ssclnetClassificationService).toBeDefined();
    expect(SsclnetModelService).toBe(ssclnetModelService); // altName, as OHIF registers it
    expect(servicesManager.registeredServiceNames).toEqual(
      expect.arrayContaining(['ssclnetModelService', 'ssclnetClassificationService']),
    );
    expect(ssclnetModelService.engine.where).toBe('worker'); // the default: inference in a Web Worker
    // Every command the hotkeys and the toolbar button name is one OHIF's CommandsManager finds.
    for (const name of Object.values(COMMANDS)) expect(commandsManager.getCommand(name)).toBeDefined();
    for (const h of ssclnetHotkeys) expect(commandsManager.getCommand(h.commandName)).toBeDefined();
    for (const b of toolbarButtons) expect(commandsManager.getCommand(b.props.commands)).toBeDefined();
    // A command runs the service: toggling the overlay through the CommandsManager changes the service's state.
    const before = ssclnetClassificationService.getState().overlay;
    commandsManager.runCommand(COMMANDS.toggleOverlay);
    expect(ssclnetClassificationService.getState().overlay).toBe(!before);
  });

  test('configuration comes from what OHIF hands the extension (appConfig.ssclnet, the extension configuration)', async () => {
    const commandsManager = new core.CommandsManager();
    const servicesManager = new core.ServicesManager(commandsManager);
    const extensionManager = new core.ExtensionManager({
      commandsManager,
      servicesManager,
      hotkeysManager: {},
      appConfig: { dataSources: [], ssclnet: { modelsUrl: '/elsewhere/', inference: 'main', backend: 'wasm' } },
    });
    await extensionManager.registerExtensions([[extension, { backend: 'cpu' }]], []);
    const m = servicesManager.services.ssclnetModelService;
    expect(m.registryUrl).toBe('/elsewhere');
    expect(m.engine.where).toBe('main');
    expect(m.options.config.backend).toBe('cpu'); // the extension's own configuration wins over appConfig
  });
});
