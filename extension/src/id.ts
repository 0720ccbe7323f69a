/** Names OHIF uses to find our modules. The mode bundle imports these too (constants only, no runtime code). */
export const EXTENSION_ID = '@ssclnet/extension-ohif';
export const PANEL_NAME = 'ssclnetPanel';
/** Full name a mode puts in its layout's rightPanels. */
export const PANEL_ID = `${EXTENSION_ID}.panelModule.${PANEL_NAME}`;
/** A dicomjson data source that knows its manifest URL (see staticJsonDataSource.ts). */
export const STATIC_JSON_DATA_SOURCE = 'staticJson';
export const STATIC_JSON_NAMESPACE = `${EXTENSION_ID}.dataSourcesModule.${STATIC_JSON_DATA_SOURCE}`;
export const OHIF_DICOMJSON_NAMESPACE = '@ohif/extension-default.dataSourcesModule.dicomjson';
