/** The local-file drop zone and the model-update controls. */
import React, { useState } from 'react';
import type { ClassificationState } from './controller';

const button = { background: '#1f5f8b', color: '#fff', border: 'none', borderRadius: '4px', padding: '4px 10px', cursor: 'pointer', marginRight: '6px' } as const;
const section = { borderTop: '1px solid #2c3b53', paddingTop: '8px', marginTop: '8px' } as const;

export function FileDropView({ state, onFile }: { state: ClassificationState; onFile: (file: File) => void }) {
  const [over, setOver] = useState(false);
  const f = state.file;
  return (
    <div style={section}>
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
        style={{ border: `1px dashed ${over ? '#5acce6' : '#52627a'}`, borderRadius: '4px', padding: '8px', textAlign: 'center', color: '#8ea3bd' }}
      >
        Drop a JPG, PNG or DICOM file here to classify it (no study needed)
        <input type="file" accept=".jpg,.jpeg,.png,.dcm,image/jpeg,image/png,application/dicom" data-testid="ssclnet-file-input"
          style={{ display: 'block', margin: '4px auto 0', fontSize: '11px' }}
          onChange={(e) => { const file = e.target.files?.[0]; if (file) onFile(file); e.target.value = ''; }} />
      </div>
      {f ? (
        <div data-testid="ssclnet-file-result" style={{ marginTop: '4px' }}>
          {f.error ? <span style={{ color: '#f07a5a' }}>{f.error}</span>
            : f.classification ? <span>{f.name}: <b>{f.classification.top.label} {(f.classification.top.probability * 100).toFixed(1)}%</b> · model {f.classification.modelVersion}</span>
              : <span>{f.name}: classifying…</span>}
        </div>
      ) : null}
    </div>
  );
}

export function UpdateView({ state, onCheck, onConfirm }: { state: ClassificationState; onCheck: () => void; onConfirm: () => void }) {
  const u = state.update;
  return (
    <div style={section} data-testid="ssclnet-update">
      <button type="button" style={button} disabled={u.checking} onClick={onCheck} data-testid="ssclnet-check-update">Check for a newer model</button>
      {u.available ? (
        <div style={{ marginTop: '4px' }}>
          Model <b data-testid="ssclnet-update-version">{u.available}</b> is available.{' '}
          <button type="button" style={button} disabled={u.checking} onClick={onConfirm} data-testid="ssclnet-confirm-update">Switch to it</button>
        </div>
      ) : null}
      {u.message ? <div data-testid="ssclnet-update-message" style={{ marginTop: '4px', color: '#8ea3bd' }}>{u.message}</div> : null}
    </div>
  );
}
