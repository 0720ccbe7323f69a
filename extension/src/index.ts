/**
 * The OHIF extension object (default export, loaded by URL as an ES module).
 *
 * - preRegistration: registers our two services with OHIF's ServicesManager, OHIF's way
 *   (`servicesManager.registerService(X.REGISTRATION, configuration)`): the model service (registry, model in use,
 *   inference engine: a Web Worker by default) and the classification service.
 * - getCommandsModule: the `ssclnet.*` commands that hotkeys, the toolbar button and the panel run.
 * - getPanelModule: the panel (a view over the services).
 * - getDataSourcesModule: the configured-manifest dicomjson data source used by the embedded demo.
 *
 * Configuration, Cornerstone and the OHIF services all come from what OHIF hands the extension (see config.ts and
 * host/cornerstone.ts); nothing is read from `window`.
 */
import { EXTENSION_ID, PANEL_NAME } from './id';
import { SsclnetPanel, type SsclnetPanelProps } from './panel/SsclnetPanel';
import { getDataSourcesModule } from './staticJsonDataSource';
import { getCommandsModule } from './commands';
import { resolveConfig, type SsclnetConfig, type SsclnetConfigInput } from './config';
import { createEngine } from './engine/client';
import type { InferenceEngine } from './engine/types';
import { cornerstoneFrom, type ExtensionManagerLike } from './host/cornerstone';
import { createOhifHost, type ViewerHost } from './host/ohifHost';
import { ModelService, type FetchIndex } from './services/ModelService';
import { ClassificationService } from './services/ClassificationService';
import { ReportService, type DataSourceInfo } from './services/ReportService';
import { HeatmapService } from './services/HeatmapService';
import type { TrackedServices } from './viewportTracker';

export { ModelService, ClassificationService, ReportService, HeatmapService, getCommandsModule };

export interface ServicesManagerLike {
  services: Record<string, unknown>;
  registerService: (
    registration: { name: string; altName?: string; create: (args: never) => unknown },
    configuration?: unknown,
  ) => void;
}

export interface PreRegistrationArgs {
  servicesManager: ServicesManagerLike;
  extensionManager?: ExtensionManagerLike;
  commandsManager?: unknown;
  appConfig?: { ssclnet?: SsclnetConfigInput };
  configuration?: SsclnetConfigInput;
}

/**
 * The active data source as the report sees it: DICOMweb (OHIF's dicomweb data source: its STOW root, or WADO root)
 * or something else (the embedded demo's dicomjson: the report is downloaded instead).
 */
export function activeDataSource(extensionManager: ExtensionManagerLike | undefined): DataSourceInfo {
  const em = extensionManager as unknown as
    { getActiveDataSource?: () => { getConfig?: () => Record<string, unknown> }[] } | undefined;
  const config = em?.getActiveDataSource?.()?.[0]?.getConfig?.() ?? {};
  const name = String(config.friendlyName ?? config.name ?? '');
  const root = [config.stowRoot, config.wadoRoot, config.qidoRoot].find((r) => typeof r === 'string' && r) as
    string | undefined;
  return root && !config.manifestUrl ? { kind: 'dicomweb', root, name } : { kind: 'other', name };
}

/** Test seams: a stand-in engine, registry fetch or viewer host instead of the real ones. */
export interface Overrides {
  engine?: InferenceEngine;
  fetch?: FetchIndex;
  host?: ViewerHost;
  dataSource?: () => DataSourceInfo;
}

export function registerServices(
  { servicesManager, extensionManager, appConfig, configuration }: PreRegistrationArgs,
  overrides: Overrides = {},
): SsclnetConfig {
  const config = resolveConfig(configuration, appConfig);
  const engine = overrides.engine ?? createEngine(config);
  servicesManager.registerService(ModelService.REGISTRATION, { config, engine, fetch: overrides.fetch });
  const modelService = servicesManager.services[ModelService.REGISTRATION.name] as ModelService;
  const host =
    overrides.host ??
    createOhifHost(servicesManager.services as unknown as TrackedServices, cornerstoneFrom(extensionManager));
  servicesManager.registerService(ClassificationService.REGISTRATION, {
    modelService,
    host,
    autoDebounceMs: config.autoDebounceMs,
  });
  const classificationService = servicesManager.services[
    ClassificationService.REGISTRATION.name
  ] as ClassificationService;
  servicesManager.registerService(ReportService.REGISTRATION, {
    modelService,
    classificationService,
    host,
    dataSource: overrides.dataSource ?? (() => activeDataSource(extensionManager)),
  });
  servicesManager.registerService(HeatmapService.REGISTRATION, { modelService, classificationService, host });
  return config;
}

export interface PanelModuleArgs {
  servicesManager: SsclnetPanelProps['servicesManager'];
  commandsManager: SsclnetPanelProps['commandsManager'];
  extensionManager?: unknown;
}

export function getPanelModule({ servicesManager, commandsManager }: PanelModuleArgs) {
  return [
    {
      name: PANEL_NAME,
      iconName: 'tab-linear',
      iconLabel: 'Brain MRI AI',
      label: 'Brain MRI AI',
      // A class component instance per mount; the closure passes OHIF's managers without host React hooks.
      component: class BoundPanel extends SsclnetPanel {
        static defaultProps = { servicesManager, commandsManager };
      },
    },
  ];
}

const extension = {
  id: EXTENSION_ID,
  preRegistration: (args: PreRegistrationArgs) => {
    registerServices(args);
  },
  getPanelModule,
  getCommandsModule,
  getDataSourcesModule,
};

export default extension;
