/**
 * Results in the PACS (issue 13): "Save result to PACS" (or download, where the data source has no DICOMweb) with its
 * progress and message, and this study's earlier results (stored SRs of this algorithm), each with its model version
 * and date, shown in the strip and the overlay on request without running the model.
 */
import React from 'react';
import type { PriorReport, ReportService } from '../services/ReportService';
import { COMMANDS } from '../id';
import { buttonStyle, colors, secondaryButtonStyle, styles } from './styles';
import { useServiceState } from './useService';
import type { Run } from './PanelView';

const when = (iso: string) => (iso ? iso.replace('T', ' ') : 'date unknown');

function PriorLine({
  p,
  currentVersion,
  shown,
  run,
}: {
  p: PriorReport;
  currentVersion: string | null;
  shown: boolean;
  run: Run;
}) {
  const other = currentVersion !== null && p.modelVersion !== currentVersion;
  return (
    <li
      data-testid="ssclnet-prior"
      data-sop={p.sopInstanceUID}
      data-model-version={p.modelVersion}
      data-date={p.contentDateTime}
      data-slices={p.slices}
      data-other-model={other ? 'true' : 'false'}
      data-shown={shown ? 'true' : 'false'}
      style={{ marginTop: '4px' }}
    >
      <div>
        <b>{when(p.contentDateTime)}</b> · model <span data-testid="ssclnet-prior-version">{p.modelVersion}</span> ·{' '}
        {p.slices} slice(s)
        {shown ? <span style={{ color: colors.accent }}> · shown</span> : null}
      </div>
      {other ? (
        <div data-testid="ssclnet-prior-other-model" style={{ color: colors.warning, fontSize: '11px' }}>
          Made by model {p.modelVersion}, not the model in use ({currentVersion}).
        </div>
      ) : null}
      {p.summaryText ? (
        <div data-testid="ssclnet-prior-summary" style={{ color: colors.muted, fontSize: '11px' }}>
          {p.summaryText}
        </div>
      ) : null}
      <button
        type="button"
        style={secondaryButtonStyle(true)}
        data-testid="ssclnet-prior-show"
        onClick={() => run(COMMANDS.showPriorResult, { sopInstanceUID: p.sopInstanceUID })}
      >
        Show in strip and overlay
      </button>
    </li>
  );
}

export function ReportView({
  service,
  run,
  hasResult,
  currentVersion,
}: {
  service: ReportService;
  run: Run;
  hasResult: boolean;
  currentVersion: string | null;
}) {
  const s = useServiceState(service);
  const busy = s.save.kind === 'building' || s.save.kind === 'sending';
  const toPacs = s.dataSource.kind === 'dicomweb';
  const priors = s.priors;
  return (
    <div data-testid="ssclnet-report">
      <button
        type="button"
        style={buttonStyle(hasResult && !busy)}
        disabled={!hasResult || busy}
        data-testid="ssclnet-save-report"
        title={
          toPacs
            ? 'Store the result as a DICOM SR in the study (Shift+S)'
            : 'Download the result as a DICOM SR file (Shift+S)'
        }
        onClick={() => run(COMMANDS.saveReport)}
      >
        {toPacs ? 'Save result to PACS' : 'Download result (DICOM SR)'}
      </button>
      {s.save.kind !== 'idle' ? (
        <div
          data-testid="ssclnet-save-status"
          data-state={s.save.kind}
          data-where={s.save.kind === 'done' ? s.save.where : ''}
          data-error-kind={s.save.kind === 'failed' ? s.save.errorKind : ''}
          data-sop={s.save.kind === 'done' ? s.save.sopInstanceUID : ''}
          style={
            s.save.kind === 'failed'
              ? styles.error
              : { marginTop: '6px', color: s.save.kind === 'done' ? colors.text : colors.muted }
          }
        >
          {s.save.message}
        </div>
      ) : null}
      <div style={{ marginTop: '8px' }} data-testid="ssclnet-priors" data-state={priors.kind}>
        <span style={styles.label}>Earlier results in this study</span>
        {priors.kind === 'loading' ? <span style={{ color: colors.muted }}>looking…</span> : null}
        {priors.kind === 'failed' || priors.kind === 'unavailable' ? (
          <div style={{ color: priors.kind === 'failed' ? colors.error : colors.muted, fontSize: '11px' }}>
            {priors.message}
          </div>
        ) : null}
        {priors.kind === 'done' && !priors.reports.length ? <span style={{ color: colors.muted }}>none</span> : null}
        {priors.kind === 'done' || priors.kind === 'failed' ? (
          <button
            type="button"
            style={secondaryButtonStyle(true)}
            data-testid="ssclnet-priors-refresh"
            onClick={() => run(COMMANDS.findPriorResults)}
          >
            Look again
          </button>
        ) : null}
        {priors.kind === 'done' && priors.reports.length ? (
          <ul style={{ margin: '4px 0', paddingLeft: '16px', fontSize: '12px' }}>
            {priors.reports.map((p) => (
              <PriorLine
                key={p.sopInstanceUID}
                p={p}
                currentVersion={currentVersion}
                shown={s.shown === p.sopInstanceUID}
                run={run}
              />
            ))}
          </ul>
        ) : null}
        {priors.kind === 'done' && priors.skipped.length ? (
          <div style={{ color: colors.muted, fontSize: '11px' }}>
            {priors.skipped.length} unreadable report(s) skipped
          </div>
        ) : null}
      </div>
    </div>
  );
}
