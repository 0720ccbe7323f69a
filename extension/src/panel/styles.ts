/**
 * The panel's look, in one place (every view imports these; none defines its own copies).
 *
 * Colours are the host's: OHIF 3.13 defines its theme as CSS variables on the page (`:root` in the app's
 * stylesheet: `--primary`, `--foreground`, `--muted-foreground`, `--accent`, `--border`, `--highlight`, ... as
 * "H S% L%" triples used through `hsl(var(--x))`). Our React root lives inside the host's page, so it reads the same
 * variables; the fallbacks are OHIF 3.13.2's own values, for a host without them. OHIF's React components
 * (@ohif/ui-next) are not reachable from a URL-loaded extension (the host shares no React), so the panel draws
 * OHIF-like sections, buttons and switches itself with these variables.
 */
import { DECLINED_COLOR } from '../classification/overlay';

const hsl = (name: string, fallback: string) => `hsl(var(--${name}, ${fallback}))`;
const hsla = (name: string, fallback: string, alpha: number) => `hsl(var(--${name}, ${fallback}) / ${alpha})`;

export const colors = {
  text: hsl('foreground', '0 0% 98%'),
  muted: hsl('muted-foreground', '200 46% 65%'),
  /** OHIF's highlight (the cyan of active tools and section titles). */
  accent: hsl('highlight', '191 74% 63%'),
  primary: hsl('primary', '214 98% 60%'),
  primaryText: hsl('primary-foreground', '0 0% 98%'),
  secondary: hsl('secondary', '214 65% 36%'),
  /** Section header background (OHIF's panel headers). */
  header: hsl('accent', '217 79% 24%'),
  headerHover: hsla('accent', '217 79% 24%', 0.7),
  card: hsl('card', '234 64% 10%'),
  background: hsl('background', '0 0% 0%'),
  border: hsl('input', '236 52% 30%'),
  track: hsla('input', '236 52% 30%', 0.6),
  bar: hsl('neutral', '213 22% 59%'),
  warning: '#f0b45a',
  error: '#f07a5a',
  declined: DECLINED_COLOR,
} as const;

/** One colour per class, in the card's class order (glioma, meningioma, notumor, pituitary for SSCLNet). */
export const CLASS_COLORS = ['#e4572e', '#f3a712', '#52627a', '#a06cd5', '#29bf12', '#17bebb'];

export const styles = {
  /** The panel fills the host's panel height and scrolls inside it (every control reachable at 1280×720). */
  root: {
    height: '100%',
    overflowY: 'auto',
    overflowX: 'hidden',
    boxSizing: 'border-box',
    color: colors.text,
    background: colors.background,
    fontSize: '13px',
    lineHeight: 1.45,
    fontFamily: 'Inter, ui-sans-serif, system-ui, sans-serif',
  },
  title: { fontSize: '14px', fontWeight: 600, color: colors.accent, margin: 0, padding: '8px 10px' },
  label: { color: colors.muted, marginRight: '6px' },
  warning: { color: colors.warning, marginTop: '6px' },
  error: { color: colors.error, marginTop: '6px' },
  declined: { color: colors.declined, marginTop: '6px' },
  note: { color: colors.muted, fontSize: '11px' },
  /** A collapsible section: header bar + body (OHIF's PanelSection look). */
  section: { marginBottom: '2px' },
  sectionHeader: {
    display: 'flex',
    alignItems: 'center',
    justifyContent: 'space-between',
    width: '100%',
    boxSizing: 'border-box',
    height: '28px',
    padding: '0 10px',
    background: colors.header,
    color: colors.text,
    border: 'none',
    borderRadius: '4px',
    cursor: 'pointer',
    fontSize: '13px',
    fontWeight: 500,
    textAlign: 'left',
  },
  sectionBody: { padding: '8px 10px 10px' },
  button: {
    background: colors.primary,
    color: colors.primaryText,
    border: 'none',
    borderRadius: '4px',
    padding: '4px 10px',
    cursor: 'pointer',
    marginRight: '6px',
    marginTop: '4px',
    fontSize: '13px',
    lineHeight: '18px',
  },
  secondaryButton: {
    background: 'transparent',
    color: colors.accent,
    border: `1px solid ${colors.border}`,
    borderRadius: '4px',
    padding: '3px 9px',
    cursor: 'pointer',
    marginRight: '6px',
    marginTop: '4px',
    fontSize: '12px',
    lineHeight: '18px',
  },
  linkButton: {
    background: 'none',
    border: 'none',
    padding: 0,
    color: colors.accent,
    cursor: 'pointer',
    fontSize: '12px',
    textDecoration: 'underline',
  },
  barTrack: { background: colors.track, height: '8px', borderRadius: '4px', overflow: 'hidden' },
  top: { fontWeight: 600, color: colors.accent, marginTop: '4px', fontSize: '14px' },
  research: { color: colors.warning, fontSize: '11px', marginBottom: '4px' },
  card: { border: `1px solid ${colors.border}`, borderRadius: '4px', padding: '6px 8px', marginTop: '6px' },
  details: { color: colors.muted, fontSize: '11px', marginTop: '4px' },
  row: { display: 'flex', alignItems: 'center', flexWrap: 'wrap', gap: '4px 12px', marginTop: '6px' },
} as const;

/** A button's style, dimmed when it can't be used. */
export const buttonStyle = (enabled: boolean, extra: Record<string, string | number> = {}) => ({
  ...styles.button,
  opacity: enabled ? 1 : 0.5,
  cursor: enabled ? 'pointer' : 'default',
  ...extra,
});
export const secondaryButtonStyle = (enabled: boolean, extra: Record<string, string | number> = {}) => ({
  ...styles.secondaryButton,
  opacity: enabled ? 1 : 0.5,
  cursor: enabled ? 'pointer' : 'default',
  ...extra,
});
