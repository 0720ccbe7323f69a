/**
 * The OHIF extension object (default export, loaded by URL as an ES module): a panel that follows the
 * displayed image, and the configured-manifest dicomjson data source used by the embedded demo.
 */
import { EXTENSION_ID, PANEL_NAME } from './id';
import { SsclnetPanel, type SsclnetPanelProps } from './panel/SsclnetPanel';
import { getDataSourcesModule } from './staticJsonDataSource';

export interface PanelModuleArgs {
  servicesManager: SsclnetPanelProps['servicesManager'];
  commandsManager?: unknown;
  extensionManager?: unknown;
}

export function getPanelModule({ servicesManager }: PanelModuleArgs) {
  return [
    {
      name: PANEL_NAME,
      iconName: 'tab-linear',
      iconLabel: 'SSCLNet',
      label: 'SSCLNet',
      // A class component instance per mount; the closure passes OHIF's services without host React hooks.
      component: class BoundPanel extends SsclnetPanel {
        static defaultProps = { servicesManager };
      },
    },
  ];
}

const extension = {
  id: EXTENSION_ID,
  getPanelModule,
  getDataSourcesModule,
};

export default extension;
