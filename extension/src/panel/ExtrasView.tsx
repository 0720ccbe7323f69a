/** The local-file drop zone and the model-update controls. */
import React, { useState } from 'react';
import type { ClassificationState } from '../services/ClassificationService';
import type { ModelState } from '../services/ModelService';
import { COMMANDS } from '../id';
import { colors, styles } from './styles';
import type { Run } from './PanelView';

export function FileDropView({ file: f, run }: { file: ClassificationState['file']; run: Run }) {
  const [over, setOver] = useState(false);
  const onFile = (file: File) => run(COMMANDS.classifyFile, { file });
  const c = f?.classification;
  return (
    <div style={styles.section}>
      <div
        data-testid="ssclnet-drop"
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          const file = e.dataTransfer.files[0];
          if (file) onFile(file);
        }}
        style={{ border: `1px dashed ${over ? colors.accent : colors.bar}`, borderRadius: '4px', padding: '8px', textAlign: 'center', color: colors.muted }}
      >
        Drop a JPG, PNG or DICOM file here to classify it (no study needed)
        <input type="file" accept=".jpg,.jpeg,.png,.dcm,image/jpeg,image/png,application/dicom" data-testid="ssclnet-file-input"
          style={{ display: 'block', margin: '4px auto 0', fontSize: '11px' }}
          onChange={(e) => { const file = e.target.files?.[0]; if (file) onFile(file); e.target.value = ''; }} />
      </div>
      {f ? (
        <div data-testid="ssclnet-file-result" data-declined={c?.outOfRange ? 'true' : 'false'} style={{ marginTop: '4px' }}>
          {f.error ? <span style={{ color: colors.error }}>{f.error}</span>
            : c?.outOfRange ? <span style={{ color: colors.declined }}>{f.name}: Outside the model&apos;s range: {c.outOfRange.reason} · model {c.modelVersion}</span>
              : c ? <span>{f.name}: <b>{c.top.label} {(c.top.probability * 100).toFixed(1)}%</b> · model {c.modelVersion}</span>
                : <span>{f.name}: classifying…</span>}
        </div>
      ) : null}
    </div>
  );
}

export function UpdateView({ model, run }: { model: ModelState; run: Run }) {
  const u = model.update;
  return (
    <div style={styles.section} data-testid="ssclnet-update">
      <button type="button" style={styles.button} disabled={u.checking} onClick={() => run(COMMANDS.checkForUpdate)} data-testid="ssclnet-check-update">Check for a newer model</button>
      {model.previous.length && model.status.kind === 'ready' ? (
        <button type="button" style={styles.button} disabled={u.checking} onClick={() => run(COMMANDS.rollBackModel)} data-testid="ssclnet-rollback">
          Back to {model.previous[model.previous.length - 1]}
        </button>
      ) : null}
      {u.available ? (
        <div style={{ marginTop: '4px' }}>
          Model <b data-testid="ssclnet-update-version">{u.available}</b> is available.{' '}
          <button type="button" style={styles.button} disabled={u.checking} onClick={() => run(COMMANDS.switchModel, { version: u.available! })} data-testid="ssclnet-confirm-update">Switch to it</button>
        </div>
      ) : null}
      {u.message ? <div data-testid="ssclnet-update-message" style={{ marginTop: '4px', color: colors.muted }}>{u.message}</div> : null}
    </div>
  );
}
