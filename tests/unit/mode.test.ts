import mode, { DISPLAY_NAME, MODE_ID, ROUTE_NAME, extensionDependencies, isValidMode, modeFactory } from '../../mode/src/index';
import { PANEL_ID } from '../../extension/src/id';

describe('ssclnet mode', () => {
  const m = modeFactory({ modeConfiguration: {} });

  test('ids, route and name OHIF lists', () => {
    expect(mode.id).toBe('ssclnet');
    expect(mode.modeFactory).toBe(modeFactory);
    expect(m.id).toBe(MODE_ID);
    expect(m.routeName).toBe(ROUTE_NAME);
    expect(m.displayName).toBe('Brain MRI classification');
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
      { namespace: '@ohif/extension-cornerstone.viewportModule.cornerstone', displaySetsToDisplay: ['@ohif/extension-default.sopClassHandlerModule.stack'] },
    ]);
    expect(m.sopClassHandlers).toEqual(['@ohif/extension-default.sopClassHandlerModule.stack']);
  });

  test('depends only on OHIF extensions (a URL-loaded extension named here breaks the route)', () => {
    expect(Object.keys(extensionDependencies).sort()).toEqual(['@ohif/extension-cornerstone', '@ohif/extension-default']);
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

  test('onModeEnter binds the stack scroll to the wheel in the default tool group', () => {
    type Tools = Record<string, Array<{ toolName: string; bindings?: { mouseButton: number }[] }>>;
    const created: Array<[string, Tools]> = [];
    const services = { toolGroupService: { createToolGroupAndAddTools: (id: string, tools: Tools) => { created.push([id, tools]); }, destroy: () => {} } };
    const toolNames = { WindowLevel: 'WindowLevel', Pan: 'Pan', Zoom: 'Zoom', StackScroll: 'StackScroll' };
    const Enums = { MouseBindings: { Primary: 1, Auxiliary: 4, Secondary: 2, Wheel: 524288 } };
    m.onModeEnter({ servicesManager: { services }, extensionManager: { getModuleEntry: () => ({ exports: { toolNames, Enums } }) } });
    expect(created).toHaveLength(1);
    const [id, tools] = created[0];
    expect(id).toBe('default');
    expect(tools.active.find((t) => t.toolName === 'StackScroll')?.bindings).toEqual([{ mouseButton: 524288 }]);
    expect(() => m.onModeEnter({ servicesManager: { services }, extensionManager: { getModuleEntry: () => undefined } })).toThrow(/tools are not registered/);
  });
});
