/**
 * The model card of the model in use, for a reader: intended use, limits, training data, the in-range rule and the
 * test metrics, as the card (written by `ssclnet export`, verified by SHA-256 on load) states them.
 */
import React from 'react';
import type { ModelCard } from '../inference/types';
import { colors, styles } from './styles';
import { className } from './labels';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v.trim() ? v.trim() : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pct = (v: number | null) => (v === null ? '–' : `${(v * 100).toFixed(1)} %`);

function Field({ name, children, testId }: { name: string; children: React.ReactNode; testId?: string }) {
  return (
    <div style={{ marginTop: '6px' }} data-testid={testId}>
      <div style={{ color: colors.accent, fontSize: '12px', fontWeight: 600 }}>{name}</div>
      <div style={{ fontSize: '12px' }}>{children}</div>
    </div>
  );
}

/** Training data in a sentence: labeled and unlabeled slices per split, from the card's `training.data_summary`. */
export function trainingDataText(card: ModelCard): string | null {
  const training = obj(card.training);
  const summary = obj(training?.data_summary);
  const parts: string[] = [];
  const train = obj(summary?.train);
  const perSplit = obj(train?.per_split_class);
  if (perSplit) {
    for (const [split, counts] of Object.entries(perSplit)) {
      const c = obj(counts);
      if (!c) continue;
      const total = Object.values(c).reduce<number>((a, b) => a + (num(b) ?? 0), 0);
      parts.push(`${split}: ${total} slices`);
    }
  }
  const val = obj(summary?.val);
  if (num(val?.slices) !== null) parts.push(`validation: ${num(val?.slices)} slices`);
  const data = str(obj(training?.args)?.data) ?? str(obj(obj(card.metrics)?.detail)?.data);
  return parts.length || data ? `${parts.join(', ')}${data ? `${parts.length ? '; ' : ''}from ${data}` : ''}` : null;
}

/** The in-range rule in words (metadata gate before inference, feature gate after). */
export function inRangeText(card: ModelCard): string[] {
  const out: string[] = [];
  const ir = obj(card.in_range);
  const meta = obj(ir?.metadata);
  if (meta) {
    const mods = Array.isArray(meta.modalities) ? (meta.modalities as string[]).join(', ') : null;
    const angle = num(meta.max_angle_from_axial_deg);
    const rejects = Array.isArray(meta.reject_image_types) ? (meta.reject_image_types as string[]).join(', ') : null;
    out.push(
      `Before inference: ${[mods ? `modality ${mods}` : null, angle !== null ? `axial within ${angle}°` : null, rejects ? `not ${rejects}` : null, Array.isArray(meta.photometric) ? 'grayscale' : null].filter(Boolean).join('; ')}.`,
    );
  }
  const features = obj(ir?.features);
  if (features) {
    const rate = num(features.in_range_rate_val);
    out.push(
      `After inference: the slice must look like the training slices (feature distance ≤ ${num(features.threshold)?.toFixed(1) ?? '?'}${rate !== null ? `; ${pct(rate)} of validation slices pass` : ''}).`,
    );
  }
  if (!out.length) out.push('This model card states no in-range rule: every slice gets an answer.');
  return out;
}

export function ModelCardView({ card }: { card: ModelCard | null }) {
  if (!card)
    return (
      <div style={{ color: colors.muted }} data-testid="ssclnet-model-card">
        No model loaded.
      </div>
    );
  const metrics = obj(card.metrics);
  const detail = obj(metrics?.detail);
  const perClass = obj(detail?.per_class);
  const limits = Array.isArray(card.limits) ? (card.limits as unknown[]).map(str).filter((x): x is string => !!x) : [];
  const calibration = obj(card.calibration);
  const training = trainingDataText(card);
  return (
    <div data-testid="ssclnet-model-card" data-version={card.version}>
      <div style={{ fontSize: '12px' }}>
        <b>{str(card.name) ?? 'Model'}</b>
        <span style={{ color: colors.muted }}> · created {String(card.created ?? '').slice(0, 10)}</span>
      </div>
      <Field name="Intended use" testId="ssclnet-card-intended-use">
        {str(card.intended_use) ?? 'Research use only; not for diagnosis.'}
      </Field>
      {str(card.intended_input) ? <Field name="Input">{str(card.intended_input)}</Field> : null}
      <Field name="Limits" testId="ssclnet-card-limits">
        {limits.length ? (
          <ul style={{ margin: '2px 0', paddingLeft: '16px' }}>
            {limits.map((l) => (
              <li key={l}>{l}</li>
            ))}
          </ul>
        ) : (
          'None stated.'
        )}
      </Field>
      <Field name="Training data" testId="ssclnet-card-training">
        {training ?? 'Not stated in the card.'}
      </Field>
      <Field name="In range" testId="ssclnet-card-in-range">
        {inRangeText(card).map((t) => (
          <div key={t}>{t}</div>
        ))}
      </Field>
      <Field name="Test metrics" testId="ssclnet-card-metrics">
        <div>
          Accuracy {pct(num(metrics?.accuracy))} · macro-F1 {num(metrics?.macro_f1)?.toFixed(3) ?? '–'}
          {num(detail?.n) !== null ? ` · ${num(detail?.n)} test slices` : ''}
        </div>
        {perClass ? (
          <table style={{ borderCollapse: 'collapse', fontSize: '11px', marginTop: '2px' }}>
            <thead>
              <tr style={{ color: colors.muted }}>
                <th style={{ textAlign: 'left', paddingRight: '8px' }}>class</th>
                <th style={{ paddingRight: '8px' }}>precision</th>
                <th>recall</th>
              </tr>
            </thead>
            <tbody>
              {Object.entries(perClass).map(([k, v]) => (
                <tr key={k}>
                  <td style={{ paddingRight: '8px' }}>{className(k)}</td>
                  <td style={{ paddingRight: '8px', textAlign: 'right' }}>{pct(num(obj(v)?.precision))}</td>
                  <td style={{ textAlign: 'right' }}>{pct(num(obj(v)?.recall))}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
        {calibration ? (
          <div style={styles.note}>
            Calibrated (temperature {num(calibration.temperature)?.toFixed(2)}): ECE{' '}
            {num(calibration.ece_before)?.toFixed(3)} → {num(calibration.ece_after)?.toFixed(3)}
          </div>
        ) : null}
      </Field>
    </div>
  );
}
