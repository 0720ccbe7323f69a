/**
 * The component OHIF mounts for our panel. The host does not share its React, so this class (no hooks) renders
 * an empty div and mounts our own React root there; hooks run inside that root only.
 */
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { PanelView } from './PanelView';
import type { TrackedServices } from '../viewportTracker';

export interface SsclnetPanelProps {
  servicesManager: { services: TrackedServices };
}

export class SsclnetPanel extends React.Component<SsclnetPanelProps> {
  private container = React.createRef<HTMLDivElement>();
  private root: Root | null = null;

  componentDidMount() {
    if (!this.container.current) return;
    this.root = createRoot(this.container.current);
    this.root.render(<PanelView services={this.props.servicesManager.services} />);
  }

  componentWillUnmount() {
    const root = this.root;
    this.root = null;
    // Unmounting synchronously while the host is mid-render warns and can throw; defer to the next task.
    if (root) setTimeout(() => root.unmount(), 0);
  }

  render() {
    return <div ref={this.container} style={{ height: '100%' }} />;
  }
}
