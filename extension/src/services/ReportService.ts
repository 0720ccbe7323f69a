/**
 * The report service (`servicesManager.services.ssclnetReportService`, issue 13): results back to the PACS.
 * - saveReport(): the classification SR (extension/src/report, built in the inference engine, off the page's thread)
 *   of the last whole-series run, or of the displayed series' classified slices, stored with STOW-RS into the active
 *   DICOMweb data source (through the server's /dicom-web proxy), or offered as a .dcm download where the data
 *   source has no DICOMweb (the embedded demo). Each phase and each failure is in its state, with a message.
 * - Prior results: when a study is displayed, this algorithm's earlier SRs in it are looked up (QIDO-RS) and listed;
 *   showPrior() puts one into the strip and the overlay (the classification service's series view) without running
 *   the model; a result of another model version than the loaded one says so.
 */
import type { ParsedReport } from '../report/types';
import type { ReportBuilt } from '../engine/types';
import type { ViewerHost } from '../host/ohifHost';
import type { SliceOutcome } from '../classification/series';
import { download } from '../classification/exportHistory';
import { slicesFromOutcomes } from '../report/slices';
import { OUT_OF_RANGE_LABEL } from '../inference/types';
import type { Result } from '../engine/types';
import type { ClassificationService, ClassificationState } from './ClassificationService';
import type { ModelService } from './ModelService';
import { PubSubService, serviceRegistration } from './pubsub';

export type DataSourceInfo = { kind: 'dicomweb'; root: string; name: string } | { kind: 'other'; name: string };

export type SaveState =
  | { kind: 'idle' }
  | { kind: 'building' | 'sending'; message: string }
  | {
      kind: 'done';
      message: string;
      where: 'pacs' | 'download';
      sopInstanceUID: string;
      seriesInstanceUID: string;
      slices: number;
    }
  | { kind: 'failed'; message: string; errorKind: string; status: number | null };

export interface PriorReport {
  sopInstanceUID: string;
  seriesInstanceUID: string;
  sourceSeriesInstanceUID: string;
  modelVersion: string;
  /** "YYYY-MM-DDTHH:MM:SS" (the writer's local time), or ''. */
  contentDateTime: string;
  slices: number;
  summaryText: string;
  report: ParsedReport;
}

export type PriorState =
  | { kind: 'idle' }
  | { kind: 'loading'; studyInstanceUID: string }
  | {
      kind: 'done';
      studyInstanceUID: string;
      reports: PriorReport[];
      skipped: { sopInstanceUID: string; reason: string }[];
    }
  | { kind: 'failed' | 'unavailable'; studyInstanceUID: string; message: string };

export interface ReportState {
  save: SaveState;
  priors: PriorState;
  /** SOP Instance UID of the prior report shown in the strip / overlay, or null. */
  shown: string | null;
  /** The data source saving goes to. */
  dataSource: DataSourceInfo;
}

export interface ReportServiceOptions {
  modelService: ModelService;
  classificationService: ClassificationService;
  host: ViewerHost;
  dataSource: () => DataSourceInfo;
  /** Offers bytes as a file (browser download by default). */
  download?: (name: string, bytes: ArrayBuffer, type: string) => void;
}

const EVENTS = {
  STATE_CHANGED: 'event::ssclnetReportService:stateChanged',
  /** { sopInstanceUID, where: 'pacs' | 'download' } */
  SAVED: 'event::ssclnetReportService:saved',
  /** { message, kind } */
  SAVE_FAILED: 'event::ssclnetReportService:saveFailed',
  /** { studyInstanceUID, count } */
  PRIORS_FOUND: 'event::ssclnetReportService:priorsFound',
};

/** The patient/study attributes the SR copies, and what it needs to reference the instances (nothing else). */
const INSTANCE_KEYS = [
  'SOPClassUID',
  'SOPInstanceUID',
  'SeriesInstanceUID',
  'StudyInstanceUID',
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'AccessionNumber',
  'ReferringPhysicianName',
  'StudyID',
  'NumberOfFrames',
];

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** A stored slice as the viewer's Result (what the strip and the overlay show). */
export function resultFromStored(report: ParsedReport, s: ParsedReport['slices'][number]): Result {
  const idx = s.label ? report.classes.indexOf(s.label) : -1;
  const top =
    s.outOfRange || idx < 0
      ? { label: OUT_OF_RANGE_LABEL, probability: 0, index: -1 }
      : { label: s.label!, probability: s.probabilities[idx] ?? 0, index: idx };
  return {
    probabilities: s.probabilities,
    classes: report.classes,
    top,
    outOfRange: s.outOfRange ?? null,
    ...(s.score !== undefined ? { score: s.score } : {}),
    modelVersion: report.modelVersion,
    backend: 'stored SR',
    ms: 0,
  };
}

export class ReportService extends PubSubService<typeof EVENTS> {
  static EVENTS = EVENTS;

  static REGISTRATION = serviceRegistration(
    'ssclnetReportService',
    (configuration: ReportServiceOptions) => new ReportService(configuration),
  );

  private state: ReportState;
  private study = '';
  private lastViewer: ClassificationState['viewer'] | null = null;
  private lookup = 0;
  private readonly o: ReportServiceOptions;

  constructor(options: ReportServiceOptions) {
    super(ReportService.EVENTS);
    this.o = options;
    this.state = { save: { kind: 'idle' }, priors: { kind: 'idle' }, shown: null, dataSource: this.source() };
    const cs = options.classificationService;
    cs.subscribe(cs.EVENTS.STATE_CHANGED, (s: ClassificationState) => this.onClassification(s));
  }

  getState = (): ReportState => this.state;

  private set(patch: Partial<ReportState>): void {
    this.state = { ...this.state, ...patch };
    this._broadcastEvent(ReportService.EVENTS.STATE_CHANGED, this.state);
  }

  private source(): DataSourceInfo {
    try {
      return this.o.dataSource();
    } catch {
      return { kind: 'other', name: '' };
    }
  }

  private onClassification(s: ClassificationState): void {
    if (this.state.shown && !(s.series.kind === 'done' && s.series.stored?.sopInstanceUID === this.state.shown))
      this.set({ shown: null });
    // Only when what the viewport shows changed (not on every progress step of a series run).
    if (s.viewer.kind !== 'showing' || s.viewer === this.lastViewer) return;
    this.lastViewer = s.viewer;
    const study = this.o.host.displayedSeries?.(s.viewer.viewportId)?.studyInstanceUID ?? '';
    if (study && study !== this.study) {
      this.study = study;
      void this.findPriorResults(study);
    }
  }

  /** Looks up this algorithm's SRs in the study (the displayed one by default). */
  async findPriorResults(studyInstanceUID = this.study): Promise<PriorReport[]> {
    if (!studyInstanceUID) return [];
    const ds = this.source();
    const lookup = ++this.lookup;
    this.set({ dataSource: ds });
    const engine = this.o.modelService.engine;
    if (ds.kind !== 'dicomweb' || !engine.findPriorResults) {
      this.set({
        priors: {
          kind: 'unavailable',
          studyInstanceUID,
          message: 'This data source has no DICOMweb: earlier results stored in a PACS cannot be looked up here.',
        },
      });
      return [];
    }
    this.set({ priors: { kind: 'loading', studyInstanceUID } });
    try {
      const found = await engine.findPriorResults({ root: ds.root, studyInstanceUID });
      if (lookup !== this.lookup) return [];
      const reports: PriorReport[] = found.reports.map((r) => ({
        sopInstanceUID: r.sopInstanceUID,
        seriesInstanceUID: r.seriesInstanceUID,
        sourceSeriesInstanceUID: r.sourceSeriesInstanceUID,
        modelVersion: r.modelVersion,
        contentDateTime: r.contentDateTime,
        slices: r.slices.length,
        summaryText: r.summary?.text ?? '',
        report: r,
      }));
      this.set({ priors: { kind: 'done', studyInstanceUID, reports, skipped: found.skipped } });
      this._broadcastEvent(ReportService.EVENTS.PRIORS_FOUND, { studyInstanceUID, count: reports.length });
      return reports;
    } catch (e) {
      if (lookup === this.lookup)
        this.set({
          priors: {
            kind: 'failed',
            studyInstanceUID,
            message: `Earlier results could not be looked up: ${message(e)}`,
          },
        });
      return [];
    }
  }

  /** The outcomes to save: the last whole-series run, or the displayed series' classified slices (cache). */
  private outcomesToSave(): { outcomes: SliceOutcome[]; total: number } | null {
    const cs = this.o.classificationService;
    const series = cs.getState().series;
    if ((series.kind === 'done' || series.kind === 'cancelled') && !series.stored) {
      return { outcomes: series.outcomes, total: series.total };
    }
    const displayed = this.o.host.displayedSeries?.();
    if (!displayed) return null;
    const outcomes: SliceOutcome[] = [];
    displayed.sopInstanceUIDs.forEach((sop, index) => {
      const frame = displayed.frames[index] ?? 0;
      const c = sop ? cs.cached({ sopInstanceUID: sop, frame }) : undefined;
      if (c) {
        outcomes.push({
          index,
          classification: c,
          error: null,
          identity: {
            studyInstanceUID: displayed.studyInstanceUID,
            seriesInstanceUID: displayed.seriesInstanceUID,
            sopInstanceUID: sop,
            frame,
            sliceIndex: index,
            sliceCount: displayed.sopInstanceUIDs.length,
            imageId: displayed.imageIds[index],
          },
        });
      }
    });
    return outcomes.length ? { outcomes, total: displayed.sopInstanceUIDs.length } : null;
  }

  private fail(text: string, errorKind: string, status: number | null = null): false {
    this.set({ save: { kind: 'failed', message: text, errorKind, status } });
    this._broadcastEvent(ReportService.EVENTS.SAVE_FAILED, { message: text, kind: errorKind });
    return false;
  }

  /** Builds the SR and stores it in the PACS (DICOMweb data source) or downloads it (other data sources). */
  async saveReport(): Promise<boolean> {
    if (this.state.save.kind === 'building' || this.state.save.kind === 'sending') return false;
    const { modelService, host } = this.o;
    const engine = modelService.engine;
    const model = modelService.current;
    if (!model) return this.fail('No model is loaded: there is no result to save.', 'input');
    if (!engine.buildReport) return this.fail('This inference engine cannot build reports.', 'input');
    const run = this.outcomesToSave();
    if (!run)
      return this.fail('Nothing to save yet: classify the series (Shift+K) or some of its slices first.', 'input');
    const slices = slicesFromOutcomes(
      run.outcomes.filter((o) => o.classification?.modelVersion === model.version || !o.classification),
    );
    const instances: Record<string, unknown>[] = [];
    const seen = new Set<string>();
    for (const o of run.outcomes) {
      const id = o.identity;
      if (!id?.imageId || seen.has(id.sopInstanceUID)) continue;
      seen.add(id.sopInstanceUID);
      const meta = host.instanceMetadata?.(id.imageId) ?? {};
      const picked: Record<string, unknown> = {
        SOPInstanceUID: id.sopInstanceUID,
        SeriesInstanceUID: id.seriesInstanceUID,
        StudyInstanceUID: id.studyInstanceUID,
      };
      for (const k of INSTANCE_KEYS) if (meta[k] !== undefined && meta[k] !== null) picked[k] = meta[k];
      instances.push(JSON.parse(JSON.stringify(picked)));
    }
    const cardSha256 = modelService.getState().versions.find((v) => v.version === model.version)?.card_sha256 ?? '';
    const ds = this.source();
    this.set({
      dataSource: ds,
      save: {
        kind: 'building',
        message: `Building the report of ${slices.filter((s) => s.classification).length} slice(s)…`,
      },
    });
    let built: ReportBuilt;
    try {
      built = await engine.buildReport({
        instances,
        slices: JSON.parse(JSON.stringify(slices)),
        model: {
          version: model.version,
          cardSha256,
          classes: model.card.classes,
          parameters: [`backend: ${model.backend}`],
        },
      });
    } catch (e) {
      return this.fail(`No report was written: ${message(e)}`, 'input');
    }
    const saved = {
      sopInstanceUID: built.sopInstanceUID,
      seriesInstanceUID: built.seriesInstanceUID,
      slices: built.groups,
    };
    if (ds.kind !== 'dicomweb') {
      const name = `ssclnet-sr-${built.sopInstanceUID}.dcm`;
      (this.o.download ?? download)(name, built.buffer, 'application/dicom');
      this.set({
        save: {
          kind: 'done',
          where: 'download',
          ...saved,
          message: `This data source has no DICOMweb: the report was downloaded as ${name} (${(built.bytes / 1024).toFixed(0)} kB).`,
        },
      });
      this._broadcastEvent(ReportService.EVENTS.SAVED, { sopInstanceUID: built.sopInstanceUID, where: 'download' });
      return true;
    }
    if (!engine.storeReport) return this.fail('This inference engine cannot store reports.', 'input');
    this.set({
      save: {
        kind: 'sending',
        message: `Storing the report (${(built.bytes / 1024).toFixed(0)} kB) in ${ds.name || 'the PACS'}…`,
      },
    });
    const r = await engine
      .storeReport({ root: ds.root, buffer: built.buffer, sopInstanceUID: built.sopInstanceUID })
      .catch((e) => ({ ok: false as const, kind: 'network', status: null, message: message(e) }));
    if (!r.ok) return this.fail(r.message, r.kind, r.status);
    const warn = r.warnings.length ? ` (the PACS warns: ${r.warnings.join('; ')})` : '';
    this.set({
      save: {
        kind: 'done',
        where: 'pacs',
        ...saved,
        message: `Stored in ${ds.name || 'the PACS'}: ${built.groups} slice(s), series "SSCLNet classification"${warn}.`,
      },
    });
    this._broadcastEvent(ReportService.EVENTS.SAVED, { sopInstanceUID: built.sopInstanceUID, where: 'pacs' });
    void this.findPriorResults(this.study || run.outcomes.find((o) => o.identity)?.identity?.studyInstanceUID || '');
    return true;
  }

  /** Shows a prior report in the strip and the overlay (its series must be the displayed one, or is opened). */
  async showPrior(sopInstanceUID: string): Promise<boolean> {
    const priors = this.state.priors;
    const prior = priors.kind === 'done' ? priors.reports.find((r) => r.sopInstanceUID === sopInstanceUID) : undefined;
    if (!prior) return false;
    const { host, classificationService } = this.o;
    let displayed = host.displayedSeries?.();
    if (displayed && prior.sourceSeriesInstanceUID && displayed.seriesInstanceUID !== prior.sourceSeriesInstanceUID) {
      const first = prior.report.slices[0];
      if (
        first &&
        host.showInstance &&
        (await host.showInstance(prior.sourceSeriesInstanceUID, first.sopInstanceUID, (first.frame ?? 1) - 1))
      ) {
        for (let i = 0; i < 50 && host.displayedSeries?.()?.seriesInstanceUID !== prior.sourceSeriesInstanceUID; i++)
          await new Promise((r) => setTimeout(r, 100));
        displayed = host.displayedSeries?.();
      }
    }
    if (
      !displayed ||
      (prior.sourceSeriesInstanceUID && displayed.seriesInstanceUID !== prior.sourceSeriesInstanceUID)
    ) {
      this.set({
        save: {
          kind: 'failed',
          message: 'Open the classified series in the active viewport to show this result.',
          errorKind: 'input',
          status: null,
        },
      });
      return false;
    }
    const total = displayed.sopInstanceUIDs.length;
    const outcomes: SliceOutcome[] = Array.from({ length: total }, (_, index) => ({
      index,
      identity: null,
      classification: null,
      error: null,
    }));
    for (const s of prior.report.slices) {
      const frame = (s.frame ?? 1) - 1;
      let index = displayed.sopInstanceUIDs.findIndex(
        (sop, i) => sop === s.sopInstanceUID && (displayed!.frames[i] ?? 0) === frame,
      );
      if (index < 0) index = displayed.sopInstanceUIDs.indexOf(s.sopInstanceUID);
      if (index < 0) continue;
      outcomes[index] = {
        index,
        error: null,
        classification: resultFromStored(prior.report, s),
        identity: {
          studyInstanceUID: displayed.studyInstanceUID,
          seriesInstanceUID: displayed.seriesInstanceUID,
          sopInstanceUID: s.sopInstanceUID,
          frame,
          sliceIndex: index,
          sliceCount: total,
          imageId: displayed.imageIds[index],
        },
      };
    }
    classificationService.showStoredSeries({
      viewportId: displayed.viewportId,
      seriesInstanceUID: displayed.seriesInstanceUID,
      total,
      outcomes,
      modelVersion: prior.modelVersion,
      classes: prior.report.classes,
      stored: {
        sopInstanceUID: prior.sopInstanceUID,
        contentDateTime: prior.contentDateTime,
        modelVersion: prior.modelVersion,
      },
    });
    this.set({ shown: prior.sopInstanceUID });
    return true;
  }

  onModeExit(): void {
    this.lookup++;
    this.study = '';
    this.set({ save: { kind: 'idle' }, priors: { kind: 'idle' }, shown: null });
  }
}
