/**
 * The panel's building blocks in OHIF's look (the host's own components are not reachable from a URL-loaded
 * extension): a collapsible section, a switch-like checkbox, a file button, a progress bar, a details row.
 * Native controls stay underneath (a real checkbox, a real file input, real buttons), so the keyboard and
 * assistive technology work as usual.
 */
import React, { useState } from 'react';
import { colors, styles } from './styles';

export function Section({
  id,
  title,
  defaultOpen = true,
  extra,
  children,
}: {
  id: string;
  title: string;
  defaultOpen?: boolean;
  extra?: React.ReactNode;
  children: React.ReactNode;
}) {
  const [open, setOpen] = useState(defaultOpen);
  const bodyId = `ssclnet-section-body-${id}`;
  return (
    <section style={styles.section} data-testid={`ssclnet-section-${id}`} data-open={open ? 'true' : 'false'}>
      <button
        type="button"
        style={styles.sectionHeader}
        aria-expanded={open}
        aria-controls={bodyId}
        onClick={() => setOpen(!open)}
        data-testid={`ssclnet-section-toggle-${id}`}
      >
        <span>{title}</span>
        <span style={{ display: 'flex', alignItems: 'center', gap: '8px', color: colors.muted, fontSize: '11px' }}>
          {extra}
          <span
            aria-hidden="true"
            style={{
              display: 'inline-block',
              transform: open ? 'rotate(90deg)' : 'none',
              transition: 'transform 0.15s',
            }}
          >
            ›
          </span>
        </span>
      </button>
      {open ? (
        <div id={bodyId} style={styles.sectionBody}>
          {children}
        </div>
      ) : null}
    </section>
  );
}

const CHECK =
  "url(\"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Cpath d='M3.5 8.5l3 3 6-7' fill='none' stroke='white' stroke-width='2'/%3E%3C/svg%3E\")";

/** A checkbox drawn in the host's colours (no native white box); still an <input type=checkbox>. */
export function Checkbox({
  checked,
  onChange,
  label,
  testId,
}: {
  checked: boolean;
  onChange: (value: boolean) => void;
  label: string;
  testId: string;
}) {
  const [focused, setFocused] = useState(false);
  return (
    <label style={{ display: 'inline-flex', alignItems: 'center', gap: '6px', cursor: 'pointer', userSelect: 'none' }}>
      <input
        type="checkbox"
        checked={checked}
        onChange={(e) => onChange(e.target.checked)}
        data-testid={testId}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        style={{
          appearance: 'none',
          WebkitAppearance: 'none',
          margin: 0,
          width: '16px',
          height: '16px',
          borderRadius: '3px',
          cursor: 'pointer',
          flex: 'none',
          border: `1px solid ${checked ? colors.primary : colors.bar}`,
          background: checked ? `${CHECK} center / 12px no-repeat, ${colors.primary}` : 'transparent',
          outline: focused ? `2px solid ${colors.accent}` : 'none',
          outlineOffset: '1px',
        }}
      />
      <span>{label}</span>
    </label>
  );
}

/** A file picker as a button in the host's style: the native input is visually hidden but focusable. */
export function FileButton({
  label,
  accept,
  onFile,
  testId,
}: {
  label: string;
  accept: string;
  onFile: (f: File) => void;
  testId: string;
}) {
  const [focused, setFocused] = useState(false);
  return (
    <label
      style={{
        ...styles.secondaryButton,
        display: 'inline-block',
        position: 'relative',
        outline: focused ? `2px solid ${colors.accent}` : 'none',
      }}
      data-testid={`${testId}-button`}
    >
      {label}
      <input
        type="file"
        accept={accept}
        data-testid={testId}
        onFocus={() => setFocused(true)}
        onBlur={() => setFocused(false)}
        style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', opacity: 0, cursor: 'pointer' }}
        onChange={(e) => {
          const file = e.target.files?.[0];
          if (file) onFile(file);
          e.target.value = '';
        }}
      />
    </label>
  );
}

/** A thin bar that shows `done / total`; `state` colours it (running: primary, done: highlight, stopped: grey). */
export function ProgressBar({
  done,
  total,
  state,
  testId,
}: {
  done: number;
  total: number;
  state: 'running' | 'done' | 'cancelled';
  testId: string;
}) {
  const fraction = total > 0 ? Math.min(1, done / total) : 0;
  const color = state === 'running' ? colors.primary : state === 'done' ? colors.accent : colors.declined;
  return (
    <div
      role="progressbar"
      aria-valuemin={0}
      aria-valuemax={total}
      aria-valuenow={done}
      data-testid={testId}
      data-state={state}
      data-value={done}
      data-max={total}
      style={{ ...styles.barTrack, height: '6px', marginTop: '6px' }}
    >
      <div
        style={{
          width: `${(fraction * 100).toFixed(1)}%`,
          height: '100%',
          background: color,
          transition: 'width 0.2s',
        }}
      />
    </div>
  );
}

/** A collapsed "Details" row (technical facts: backend, timing, ...). */
export function Details({
  children,
  testId,
  summary = 'Details',
}: {
  children: React.ReactNode;
  testId: string;
  summary?: string;
}) {
  return (
    <details style={styles.details} data-testid={testId}>
      <summary style={{ cursor: 'pointer', color: colors.muted }}>{summary}</summary>
      <div style={{ marginTop: '2px' }}>{children}</div>
    </details>
  );
}
