/** @jest-environment jsdom */
// The panel mounted as OHIF mounts it, against stand-in OHIF services and a Cornerstone-like viewport element
// that fires the same events; checks what a user sees as the viewport changes.
import path from 'node:path';
import { getCommandsModule, getPanelModule, registerServices } from '../../extension/src/index';
import type { TrackedServices } from '../../extension/src/viewportTracker';
import type { InferenceEngine } from '../../extension/src/engine/types';

// The extension's own React copy (React 18, as the host), from its workspace.
const extensionDir = path.join(__dirname, '../../extension');
// eslint-disable-next-line @typescript-eslint/no-require-imports
const React = require(require.resolve('react', { paths: [extensionDir] }));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { createRoot } = require(require.resolve('react-dom/client', { paths: [extensionDir] }));

class FakeViewport {
  element = document.createElement('div');
  reads = 0;
  constructor(
    public index: number,
    public count: number,
  ) {}
  getSliceIndex() {
    this.reads += 1;
    return this.index;
  }
  getNumberOfSlices() {
    return this.count;
  }
}

function makeServices() {
  const listeners = new Map<string, Set<() => void>>();
  const source = (events: string[]) => ({
    EVENTS: Object.fromEntries(events.map((e) => [e, `evt:${e}`])),
    subscribe: (event: string, cb: () => void) => {
      if (!listeners.has(event)) listeners.set(event, new Set());
      listeners.get(event)!.add(cb);
      return { unsubscribe: () => listeners.get(event)!.delete(cb) };
    },
  });
  const viewports = new Map<string, FakeViewport>([
    ['vp1', new FakeViewport(0, 7)],
    ['vp2', new FakeViewport(4, 9)],
  ]);
  const displaySets: Record<string, object> = {
    ds1: { SeriesDescription: 'AX FSE T2', SeriesNumber: 6, Modality: 'MR' },
    ds2: { SeriesDescription: 'anat-T1w', SeriesNumber: 401, Modality: 'MR' },
  };
  let active = 'vp1';
  const services: TrackedServices = {
    viewportGridService: {
      ...source(['ACTIVE_VIEWPORT_ID_CHANGED', 'GRID_STATE_CHANGED']),
      getActiveViewportId: () => active,
      getState: () => ({
        viewports: new Map([
          ['vp1', { displaySetInstanceUIDs: ['ds1'] }],
          ['vp2', { displaySetInstanceUIDs: ['ds2'] }],
        ]),
      }),
    },
    cornerstoneViewportService: {
      ...source(['VIEWPORT_DATA_CHANGED']),
      getCornerstoneViewport: (id: string) => viewports.get(id) as never,
    },
    displaySetService: { getDisplaySetByUID: (uid: string) => displaySets[uid] },
  };
  const emit = (event: string) => listeners.get(`evt:${event}`)?.forEach((cb) => cb());
  return {
    services,
    viewports,
    emit,
    setActive: (id: string) => {
      active = id;
    },
    listeners,
  };
}

/** OHIF's ServicesManager as far as registration goes: our services join the host's, created by their REGISTRATION. */
function servicesManagerWith(services: TrackedServices) {
  const all = services as unknown as Record<string, unknown>;
  return {
    services: all,
    registerService: (
      reg: { name: string; altName?: string; create: (a: never) => unknown },
      configuration?: unknown,
    ) => {
      all[reg.name] = reg.create({ configuration, servicesManager: { services: all } } as never);
      if (reg.altName) all[reg.altName] = all[reg.name];
    },
  };
}

/** An engine that must not be used: the registry has no models.json, so nothing may load. */
const unusedEngine: InferenceEngine = {
  where: 'worker',
  load: async () => {
    throw new Error('unexpected load');
  },
  verify: async () => {
    throw new Error('unexpected verify');
  },
  classify: async () => {
    throw new Error('unexpected classify');
  },
  classifyFile: async () => {
    throw new Error('unexpected classifyFile');
  },
  info: async () => ({ where: 'worker', backend: '', registeredBackends: [], modelVersion: null }),
  dispose: () => undefined,
};

const flush = () => new Promise((r) => setTimeout(r, 0));
const text = (id: string) => document.querySelector(`[data-testid="${id}"]`)?.textContent;

test('shows the displayed series and slice, follows scrolling and viewport changes, detaches on unmount', async () => {
  const { services, viewports, emit, setActive, listeners } = makeServices();
  // The viewer's registry has no models.json: the panel must say so and the rest keeps working.
  const requested: string[] = [];
  const fetch = async (url: string) => {
    requested.push(url);
    return { status: 404, ok: false };
  };
  const servicesManager = servicesManagerWith(services);
  registerServices(
    { servicesManager, extensionManager: { getModuleEntry: () => undefined }, appConfig: {} },
    { engine: unusedEngine, fetch },
  );
  const { definitions } = getCommandsModule({ servicesManager: servicesManager as never });
  const ran: string[] = [];
  const commandsManager = {
    runCommand: (name: string, options?: Record<string, unknown>) => {
      ran.push(name);
      return (definitions as Record<string, { commandFn: (o?: unknown) => unknown }>)[name].commandFn(options);
    },
  };
  const [entry] = getPanelModule({ servicesManager: servicesManager as never, commandsManager });
  expect(entry.name).toBe('ssclnetPanel');

  // The host mounts the registered class with its own React: here the same React 18 plays the host.
  const hostDiv = document.createElement('div');
  document.body.appendChild(hostDiv);
  const host = createRoot(hostDiv);
  host.render(React.createElement(entry.component));
  await flush();
  await flush();
  expect(text('ssclnet-series')).toBe('#6 AX FSE T2');
  expect(text('ssclnet-slice')).toBe('1 / 7');
  expect(requested).toEqual(['/models/models.json']);
  expect(ran).toEqual(['ssclnet.loadModel']); // the view asks for the model through a command, fetches nothing
  expect(text('ssclnet-model')).toMatch(/No model published in this viewer's registry/);
  expect((document.querySelector('[data-testid="ssclnet-classify"]') as HTMLButtonElement).disabled).toBe(true);
  expect(text('ssclnet-note')).toMatch(/research use only, not for diagnosis/i);
  expect(document.querySelector('[data-testid="ssclnet-result"]')).toBeNull();

  // Scrolling: Cornerstone moves the slice and fires STACK_NEW_IMAGE on the viewport element.
  const vp1 = viewports.get('vp1')!;
  vp1.index = 3;
  vp1.element.dispatchEvent(new Event('CORNERSTONE_STACK_NEW_IMAGE'));
  await flush();
  expect(text('ssclnet-slice')).toBe('4 / 7');

  // Another viewport becomes active: the panel follows it and listens to its element instead.
  setActive('vp2');
  emit('ACTIVE_VIEWPORT_ID_CHANGED');
  await flush();
  expect(text('ssclnet-series')).toBe('#401 anat-T1w');
  expect(text('ssclnet-slice')).toBe('5 / 9');
  const readsBefore = vp1.reads;
  vp1.element.dispatchEvent(new Event('CORNERSTONE_STACK_NEW_IMAGE'));
  expect(vp1.reads).toBe(readsBefore);
  const vp2 = viewports.get('vp2')!;
  vp2.index = 8;
  vp2.element.dispatchEvent(new Event('CORNERSTONE_VOLUME_NEW_IMAGE'));
  await flush();
  expect(text('ssclnet-slice')).toBe('9 / 9');

  // A viewport with no image yet.
  viewports.set('vp2', new FakeViewport(0, 0));
  emit('VIEWPORT_DATA_CHANGED');
  await flush();
  expect(text('ssclnet-status')).toBe('No image in the active viewport');

  host.unmount();
  await flush();
  await flush();
  const remaining = [...listeners.values()].reduce((n, s) => n + s.size, 0);
  expect(remaining).toBe(0);
  // The views unsubscribed from our services too: only the services' own subscriptions remain (the classification
  // and heatmap services on MODEL_CHANGED; the report service (1) and the heatmap service (3) on the classification service).
  const ours = servicesManager.services as unknown as {
    ssclnetClassificationService: { listenerCount: () => number };
    ssclnetModelService: { listenerCount: () => number };
  };
  expect(ours.ssclnetClassificationService.listenerCount()).toBe(4);
  expect(ours.ssclnetModelService.listenerCount()).toBe(2);
});
