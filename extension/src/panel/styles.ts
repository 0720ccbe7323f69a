/** The panel's look, in one place (every view imports these; none defines its own copies). */
import { DECLINED_COLOR } from '../classification/overlay';

export const colors = {
  text: '#d8e1ee',
  accent: '#5acce6',
  muted: '#8ea3bd',
  warning: '#f0b45a',
  error: '#f07a5a',
  border: '#2c3b53',
  track: '#1b2638',
  bar: '#52627a',
  button: '#1f5f8b',
  declined: DECLINED_COLOR,
} as const;

/** One colour per class, in the card's class order (glioma, meningioma, notumor, pituitary for SSCLNet). */
export const CLASS_COLORS = ['#e4572e', '#f3a712', '#52627a', '#a06cd5', '#29bf12', '#17bebb'];

export const styles = {
  root: { padding: '12px', color: colors.text, fontSize: '13px', lineHeight: 1.5, fontFamily: 'Inter, sans-serif' },
  title: { fontSize: '14px', fontWeight: 600, color: colors.accent, margin: '0 0 8px' },
  label: { color: colors.muted, marginRight: '6px' },
  warning: { color: colors.warning, marginTop: '6px' },
  error: { color: colors.error, marginTop: '6px' },
  declined: { color: colors.declined, marginTop: '6px' },
  note: { color: colors.muted, fontSize: '11px', marginTop: '8px', fontStyle: 'italic' },
  section: { borderTop: `1px solid ${colors.border}`, paddingTop: '8px', marginTop: '8px' },
  button: { background: colors.button, color: '#fff', border: 'none', borderRadius: '4px', padding: '4px 10px', cursor: 'pointer', marginRight: '6px' },
  barTrack: { background: colors.track, height: '8px', borderRadius: '4px', overflow: 'hidden' },
  top: { fontWeight: 600, color: colors.accent, marginTop: '6px' },
} as const;

/** A button's style, dimmed when it can't be used. */
export const buttonStyle = (enabled: boolean, extra: Record<string, string | number> = {}) => ({ ...styles.button, opacity: enabled ? 1 : 0.5, ...extra });
