/**
 * The heatmap's panel controls (show / hide, opacity, what it explains and what it cost) and its viewport layer
 * (a view of the heatmap service's state; the drawing itself is classification/heatmapLayer.ts).
 */
import React, { useEffect } from 'react';
import type { HeatmapService } from '../services/HeatmapService';
import { placeLayer, removeHeatmapLayer, setHeatmapImage } from '../classification/heatmapLayer';
import { COMMANDS } from '../id';
import { colors, styles } from './styles';
import { useServiceState } from './useService';
import { Checkbox } from './ui';
import type { Run } from './PanelView';

export function HeatmapControls({ service, run }: { service: HeatmapService; run: Run }) {
  const s = useServiceState(service);
  const h = s.heatmap;
  return (
    <div data-testid="ssclnet-heatmap-controls">
      <Checkbox
        checked={s.enabled}
        onChange={() => run(COMMANDS.toggleHeatmap)}
        label="Heatmap (where the model looked)"
        testId="ssclnet-heatmap-toggle"
      />
      <div style={{ display: 'flex', alignItems: 'center', gap: '6px', marginTop: '4px' }}>
        <span style={styles.label}>Opacity</span>
        <input
          type="range"
          min={0}
          max={100}
          step={5}
          value={Math.round(s.opacity * 100)}
          disabled={!s.enabled}
          data-testid="ssclnet-heatmap-opacity"
          onChange={(e) => run(COMMANDS.setHeatmapOpacity, { value: Number(e.target.value) / 100 })}
          style={{ flex: 1, accentColor: colors.primary }}
        />
        <span>{Math.round(s.opacity * 100)}%</span>
      </div>
      {s.enabled && s.busy ? (
        <div data-testid="ssclnet-heatmap-status" style={{ color: colors.muted }}>
          Computing the heatmap…
        </div>
      ) : null}
      {s.enabled && s.declined ? (
        <div data-testid="ssclnet-heatmap-declined" style={styles.declined}>
          No heatmap: outside the model&apos;s range: {s.declined}
        </div>
      ) : null}
      {s.enabled && s.error ? (
        <div data-testid="ssclnet-heatmap-error" style={styles.error}>
          {s.error}
        </div>
      ) : null}
      {s.enabled && h ? (
        <div
          data-testid="ssclnet-heatmap-info"
          data-ms={h.ms}
          data-forward-ms={h.forwardMs}
          data-label={h.label}
          style={{ fontSize: '11px', color: colors.muted }}
        >
          Grad-CAM for <b style={{ color: colors.text }}>{h.label}</b> (slice {h.sliceIndex + 1}) · heatmap{' '}
          {h.ms.toFixed(0)} ms, classification {h.forwardMs.toFixed(0)} ms · model {h.modelVersion}
        </div>
      ) : null}
    </div>
  );
}

/** Draws the heatmap over its viewport and keeps it on the image after every render; removes it otherwise. */
export function HeatmapLayer({ service }: { service: HeatmapService }) {
  const s = useServiceState(service);
  const h = s.enabled ? s.heatmap : null;
  const element = h ? service.viewportElement(h.viewportId) : null;
  useEffect(() => {
    if (!h || !element) return undefined;
    setHeatmapImage(element, h.rgba, h.width, h.height);
    const update = () => {
      const p = service.placement(h.viewportId);
      // Only over the image it was made for (a scroll removes it through the service; this covers the gap).
      placeLayer(
        element,
        p && p.imageId === h.imageId && p.width === h.width && p.height === h.height ? p : null,
        service.getState().opacity,
      );
    };
    update();
    const stop = service.onViewportRender(h.viewportId, update);
    return () => {
      stop();
      removeHeatmapLayer(element);
    };
  }, [h, element, service]);
  useEffect(() => {
    if (h && element)
      placeLayer(
        element,
        service.placement(h.viewportId)?.imageId === h.imageId ? service.placement(h.viewportId) : null,
        s.opacity,
      );
  }, [s.opacity]); // eslint-disable-line react-hooks/exhaustive-deps
  return null;
}
