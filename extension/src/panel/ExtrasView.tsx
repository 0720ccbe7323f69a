/** The local-file drop zone (its result is the same card as a slice's) and the model-update controls. */
import React, { useEffect, useMemo, useState } from 'react';
import type { FilePreview } from '../engine/types';
import type { ClassificationState } from '../services/ClassificationService';
import { compareVersions, rollbackTarget, type ModelState } from '../services/ModelService';
import { COMMANDS } from '../id';
import { colors, secondaryButtonStyle, styles } from './styles';
import { FileButton } from './ui';
import { ResultCard } from './ClassificationView';
import type { Run } from './PanelView';

const ACCEPT = '.jpg,.jpeg,.png,.dcm,image/jpeg,image/png,application/dicom';
const isBrowserImage = (f: File) => /^image\/(jpeg|png)$/.test(f.type) || /\.(jpe?g|png)$/i.test(f.name);

export function FileDropView({ file: f, run }: { file: ClassificationState['file']; run: Run }) {
  const [over, setOver] = useState(false);
  // A picture of what was classified: the browser draws JPG/PNG itself; a DICOM file is decoded in the worker only,
  // so its thumbnail is the model's own view of it (the preprocessed input the engine hands back).
  const [thumb, setThumb] = useState<{ name: string; url: string } | null>(null);
  useEffect(
    () => () => {
      if (thumb) URL.revokeObjectURL(thumb.url);
    },
    [thumb],
  );
  const onFile = (file: File) => {
    setThumb(
      isBrowserImage(file) && typeof URL.createObjectURL === 'function'
        ? { name: file.name, url: URL.createObjectURL(file) }
        : null,
    );
    run(COMMANDS.classifyFile, { file });
  };
  const c = f?.classification;
  // Encoded once per file, not on every render (the panel re-renders on every progress event of a series run).
  const preview = useMemo(() => previewUrl(f?.preview), [f?.preview]);
  return (
    <div>
      <div
        data-testid="ssclnet-drop"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const file = e.dataTransfer.files[0];
          if (file) onFile(file);
        }}
        style={{
          border: `1px dashed ${over ? colors.accent : colors.border}`,
          borderRadius: '4px',
          padding: '8px',
          textAlign: 'center',
          color: colors.muted,
          fontSize: '12px',
        }}
      >
        Drop a JPG, PNG or DICOM file here, or
        <div>
          <FileButton label="Choose a file…" accept={ACCEPT} onFile={onFile} testId="ssclnet-file-input" />
        </div>
      </div>
      {f ? (
        <div
          data-testid="ssclnet-file-result"
          data-name={f.name}
          data-declined={c?.outOfRange ? 'true' : 'false'}
          style={{ marginTop: '4px' }}
        >
          {f.error ? (
            <div style={styles.error} data-testid="ssclnet-file-error">
              {f.error}
            </div>
          ) : c ? (
            <ResultCard
              classification={c}
              testId="ssclnet-file-card"
              subject={f.name}
              thumbnail={thumb?.name === f.name ? thumb.url : preview}
            />
          ) : (
            <div style={{ color: colors.muted }}>{f.name}: classifying…</div>
          )}
        </div>
      ) : null}
    </div>
  );
}

/** A data: URL of an 8-bit grey preview (null where the browser has no 2D canvas, e.g. in unit tests). */
function previewUrl(p: FilePreview | null | undefined): string | null {
  if (!p || typeof document === 'undefined') return null;
  const canvas = document.createElement('canvas');
  canvas.width = p.width;
  canvas.height = p.height;
  let ctx: CanvasRenderingContext2D | null = null;
  try {
    ctx = canvas.getContext('2d');
  } catch {
    ctx = null; // jsdom without the canvas package
  }
  if (!ctx) return null;
  const img = ctx.createImageData(p.width, p.height);
  for (let i = 0; i < p.gray.length; i++) {
    img.data.set([p.gray[i], p.gray[i], p.gray[i], 255], i * 4);
  }
  ctx.putImageData(img, 0, 0);
  return canvas.toDataURL('image/png');
}

const pct = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? `${(v * 100).toFixed(1)} %` : '–');

/**
 * Model updates: the registry's versions compared with the one in use (created date, accuracy, macro-F1 from the
 * registry's copy of each card's metrics); a version is called newer only when it is; older ones are offered as
 * older; withdrawn ones are shown with the reason and never offered. The administrator's notice and rollbacks are
 * announced.
 */
export function UpdateView({ model, run }: { model: ModelState; run: Run }) {
  const u = model.update;
  const back = rollbackTarget(model);
  const current = model.status.kind === 'ready' ? model.status.version : null;
  const cur = model.versions.find((v) => v.version === current);
  const sorted = [...model.versions].sort((a, b) => compareVersions(b, a));
  const relation = (v: (typeof sorted)[number]) =>
    v.version === current
      ? 'in use'
      : v.withdrawn
        ? 'withdrawn'
        : !cur
          ? ''
          : compareVersions(v, cur) > 0
            ? 'newer'
            : 'older';
  return (
    <div data-testid="ssclnet-update">
      {u.announcement ? (
        <div
          data-testid="ssclnet-update-announcement"
          role="status"
          style={{
            ...styles.card,
            borderColor: colors.warning,
            color: colors.warning,
            marginTop: 0,
            marginBottom: '6px',
          }}
        >
          {u.announcement}
        </div>
      ) : null}
      {model.notice && !u.announcement ? (
        <div
          data-testid="ssclnet-registry-notice"
          style={{ color: colors.warning, fontSize: '12px', marginBottom: '6px' }}
        >
          Administrator: {model.notice}
        </div>
      ) : null}
      <button
        type="button"
        style={secondaryButtonStyle(!u.checking, { marginTop: 0 })}
        disabled={u.checking}
        onClick={() => run(COMMANDS.checkForUpdate)}
        data-testid="ssclnet-check-update"
      >
        Check for a newer model
      </button>
      {back && model.status.kind === 'ready' ? (
        <button
          type="button"
          style={secondaryButtonStyle(!u.checking, { marginTop: 0 })}
          disabled={u.checking}
          onClick={() => run(COMMANDS.rollBackModel)}
          data-testid="ssclnet-rollback"
        >
          Back to {back}
        </button>
      ) : null}
      {u.available ? (
        <div style={{ marginTop: '4px' }}>
          A newer model, <b data-testid="ssclnet-update-version">{u.available}</b>, is available.{' '}
          <button
            type="button"
            style={secondaryButtonStyle(!u.checking)}
            disabled={u.checking}
            onClick={() => run(COMMANDS.switchModel, { version: u.available! })}
            data-testid="ssclnet-confirm-update"
          >
            Switch to it
          </button>
        </div>
      ) : null}
      {u.message ? (
        <div data-testid="ssclnet-update-message" style={{ marginTop: '4px', color: colors.muted }}>
          {u.message}
        </div>
      ) : null}
      {sorted.length > 1 ? (
        <table
          data-testid="ssclnet-versions"
          style={{ borderCollapse: 'collapse', fontSize: '11px', marginTop: '6px', width: '100%' }}
        >
          <thead>
            <tr style={{ color: colors.muted, textAlign: 'left' }}>
              <th>version</th>
              <th>accuracy</th>
              <th>macro-F1</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {sorted.map((v) => {
              const rel = relation(v);
              return (
                <tr
                  key={v.version}
                  data-testid="ssclnet-version-row"
                  data-version={v.version}
                  data-relation={rel}
                  title={
                    v.withdrawn ? (v.withdrawn_reason ?? 'withdrawn') : v.created ? `created ${v.created}` : undefined
                  }
                  style={{
                    color: v.withdrawn ? colors.declined : rel === 'in use' ? colors.accent : colors.text,
                    textDecoration: v.withdrawn ? 'line-through' : 'none',
                  }}
                >
                  <td>{v.version}</td>
                  <td>{pct(v.metrics?.accuracy)}</td>
                  <td>{typeof v.metrics?.macro_f1 === 'number' ? v.metrics.macro_f1.toFixed(3) : '–'}</td>
                  <td style={{ textAlign: 'right' }}>
                    {rel === 'newer' || rel === 'older' ? (
                      <button
                        type="button"
                        style={{ ...styles.linkButton, fontSize: '11px' }}
                        disabled={u.checking}
                        onClick={() => run(COMMANDS.switchModel, { version: v.version })}
                        data-testid="ssclnet-use-version"
                      >
                        use ({rel})
                      </button>
                    ) : (
                      <span>{rel}</span>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </div>
  );
}
