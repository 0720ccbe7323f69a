/**
 * The panel: a view over the two services. It reads their state through useServiceState and sends every intent
 * as an `ssclnet.*` command (the same ones hotkeys and the toolbar run). It fetches nothing and orchestrates
 * nothing; the overlay on the viewport is a view of the same state.
 */
import React, { useEffect } from 'react';
import { formatSeries, formatSlice, modalityWarning, type ViewerState } from '../viewerState';
import { COMMANDS } from '../id';
import { overlayFor, type ClassificationService } from '../services/ClassificationService';
import type { ModelService } from '../services/ModelService';
import { setViewportOverlay } from '../classification/overlay';
import { ClassificationView } from './ClassificationView';
import { SeriesView } from './SeriesView';
import { HistoryView } from './HistoryView';
import { FileDropView, UpdateView } from './ExtrasView';
import { useServiceState } from './useService';
import { ReportView } from './ReportView';
import { HeatmapControls, HeatmapLayer } from './HeatmapControls';
import type { ReportService } from '../services/ReportService';
import type { HeatmapService } from '../services/HeatmapService';
import { styles } from './styles';
import { Section } from './ui';
import { ModelCardView } from './ModelCardView';

/** Runs a command by name (OHIF's commandsManager.runCommand). */
export type Run = (command: string, options?: Record<string, unknown>) => unknown;

export interface PanelServices {
  ssclnetModelService: ModelService;
  ssclnetClassificationService: ClassificationService;
  ssclnetReportService?: ReportService;
  ssclnetHeatmapService?: HeatmapService;
}

export function DisplayedImage({ state }: { state: ViewerState }) {
  if (state.kind === 'waiting') return <div data-testid="ssclnet-status">Waiting for a viewport…</div>;
  if (state.kind === 'empty') return <div data-testid="ssclnet-status">No image in the active viewport</div>;
  const warning = modalityWarning(state.series);
  return (
    <div data-testid="ssclnet-status">
      <div style={{ display: 'flex', gap: '6px', flexWrap: 'wrap' }}>
        <span data-testid="ssclnet-series" style={{ fontWeight: 500 }}>
          {formatSeries(state.series)}
        </span>
        {state.series?.modality ? <span style={styles.label}>{state.series.modality}</span> : null}
      </div>
      <div>
        <span style={styles.label}>Slice</span>
        <span data-testid="ssclnet-slice">{formatSlice(state.slice)}</span>
      </div>
      {warning ? (
        <div style={styles.warning} data-testid="ssclnet-warning">
          {warning}
        </div>
      ) : null}
    </div>
  );
}

/** The displayed slice's result drawn on its viewport (top class, or the decline in grey), or nothing. */
export function ViewportOverlay({ service }: { service: ClassificationService }) {
  const state = useServiceState(service);
  const overlay = overlayFor(state);
  const element = overlay ? service.viewportElement(overlay.viewportId) : null;
  useEffect(() => {
    if (!element) return undefined;
    setViewportOverlay(element, overlay!.text, overlay!.declined);
    return () => void setViewportOverlay(element, null);
  }, [element, overlay?.text, overlay?.declined]); // eslint-disable-line react-hooks/exhaustive-deps
  return null;
}

/** Keys a focused panel control needs for itself (the host's hotkeys must not see them); others go on to the host. */
export function keyNeededBy(target: EventTarget | null, key: string): boolean {
  const el = target as HTMLElement | null;
  if (!el || typeof el.tagName !== 'string') return false;
  const tag = el.tagName;
  const activation = key === 'Enter' || key === ' ' || key === 'Spacebar';
  if (tag === 'BUTTON' || tag === 'SUMMARY' || tag === 'A') return activation;
  if (tag === 'INPUT') {
    const type = (el as HTMLInputElement).type;
    if (type === 'checkbox' || type === 'radio' || type === 'file' || type === 'button' || type === 'range')
      return activation || (type === 'range' && key.startsWith('Arrow'));
    return true; // text-like inputs need every key
  }
  return tag === 'TEXTAREA' || tag === 'SELECT' || el.isContentEditable === true;
}

/**
 * Keyboard and focus rules of the panel root (OHIF's hotkeys listen on the document):
 * - Enter / Space on a focused panel control stay in the panel (stopPropagation), so the control acts on them and
 *   the host's hotkeys for those keys don't; every other key (↑/↓, K, ...) goes on to the host. Enter also toggles a
 *   focused checkbox.
 * - After a pointer click on a panel control, focus leaves the panel, so ↑/↓ scroll the images again (OHIF's hotkeys
 *   ignore keys typed into form controls). Keyboard activation keeps focus where it is.
 */
export const panelKeyboardProps = {
  onKeyDown: (e: React.KeyboardEvent) => {
    if (!keyNeededBy(e.target, e.key)) return;
    e.stopPropagation();
    const el = e.target as HTMLInputElement;
    if (e.key === 'Enter' && el.tagName === 'INPUT' && el.type === 'checkbox') {
      e.preventDefault();
      el.click();
    }
  },
  onKeyUp: (e: React.KeyboardEvent) => {
    if (keyNeededBy(e.target, e.key)) e.stopPropagation();
  },
  onClick: (e: React.MouseEvent) => {
    if (e.detail === 0) return; // keyboard activation
    const control = (e.target as HTMLElement).closest?.('button, input, label, summary, select');
    if (!control || (control as HTMLInputElement).type === 'file') return;
    const root = e.currentTarget as HTMLElement;
    const release = () => {
      const active = document.activeElement as HTMLElement | null;
      if (
        active &&
        root.contains(active) &&
        active.tagName !== 'TEXTAREA' &&
        !(active.tagName === 'INPUT' && /^(text|search|number)$/.test((active as HTMLInputElement).type))
      )
        active.blur();
    };
    // Now, not only after a timer: the browser runs input before timers, so a ↓ typed right after the click (a busy
    // machine) would reach the still-focused control and be lost. The deferred pass covers a label, whose control
    // takes focus after this handler.
    release();
    setTimeout(release, 0);
  },
};

/** Something to save as a report: a series run (not a stored one shown), or a classified slice. */
const hasSavable = (cs: ReturnType<ClassificationService['getState']>) =>
  ((cs.series.kind === 'done' || cs.series.kind === 'cancelled') && !cs.series.stored) ||
  cs.history.some((h) => h.source !== 'file');

export function PanelView({ services, run }: { services: PanelServices; run: Run }) {
  const classification = services.ssclnetClassificationService;
  const model = services.ssclnetModelService;
  const cs = useServiceState(classification);
  const ms = useServiceState(model);
  // The panel follows the active viewport while it is mounted, and needs the model (loaded once per page).
  useEffect(() => classification.trackViewer(), [classification]);
  useEffect(() => void run(COMMANDS.loadModel), []); // eslint-disable-line react-hooks/exhaustive-deps
  const viewer = cs.viewer;
  const ready = ms.status.kind === 'ready';
  const version = ms.status.kind === 'ready' ? ms.status.version : null;

  /**
   * The panel's sections, in order. Each is an OHIF-style collapsible section; add a section here (id, title,
   * whether it starts open, its view) and it gets the header, the collapse and the panel's scrolling.
   */
  const sections: { id: string; title: string; open: boolean; extra?: React.ReactNode; view: React.ReactNode }[] = [
    {
      id: 'slice',
      title: 'Displayed slice',
      open: true,
      view: (
        <>
          <DisplayedImage state={viewer} />
          <ClassificationView model={ms} state={cs} classes={model.classes} run={run} />
        </>
      ),
    },
    {
      id: 'series',
      title: 'Whole series',
      open: true,
      view: (
        <SeriesView
          series={cs.series}
          ready={ready}
          current={viewer.kind === 'showing' ? viewer.slice.index : null}
          classes={model.classes}
          run={run}
        />
      ),
    },
    ...(services.ssclnetHeatmapService
      ? [
          {
            id: 'heatmap',
            title: 'Heatmap',
            open: true,
            view: <HeatmapControls service={services.ssclnetHeatmapService} run={run} />,
          },
        ]
      : []),
    ...(services.ssclnetReportService
      ? [
          {
            id: 'report',
            title: 'Results in the PACS',
            open: true,
            view: (
              <ReportView
                service={services.ssclnetReportService}
                run={run}
                currentVersion={version}
                hasResult={hasSavable(cs)}
              />
            ),
          },
        ]
      : []),
    {
      id: 'history',
      title: 'History',
      open: false,
      extra: <span>{cs.history.length}</span>,
      view: <HistoryView history={cs.history} run={run} currentVersion={version} />,
    },
    { id: 'file', title: 'Classify a file', open: false, view: <FileDropView file={cs.file} run={run} /> },
    {
      id: 'model',
      title: 'Model card and updates',
      open: false,
      view: (
        <>
          <UpdateView model={ms} run={run} />
          <div style={{ marginTop: '8px' }}>
            <ModelCardView card={model.current?.card ?? null} />
          </div>
        </>
      ),
    },
  ];

  return (
    <div style={styles.root} data-testid="ssclnet-panel" {...panelKeyboardProps}>
      {/* The host's panel header already names the panel ("Brain MRI AI"). */}
      <div style={{ padding: '4px 4px 12px' }}>
        {sections.map((s) => (
          <Section key={s.id} id={s.id} title={s.title} defaultOpen={s.open} extra={s.extra}>
            {s.view}
          </Section>
        ))}
      </div>
      <ViewportOverlay service={classification} />
      {services.ssclnetHeatmapService ? <HeatmapLayer service={services.ssclnetHeatmapService} /> : null}
    </div>
  );
}
