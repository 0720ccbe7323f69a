/**
 * The component OHIF mounts for our panel. The host does not share its React, so this class (no hooks) renders
 * an empty div and mounts our own React root there; hooks run inside that root only.
 */
import React from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { PanelView, type PanelServices } from './PanelView';

export interface SsclnetPanelProps {
  servicesManager: { services: PanelServices };
  commandsManager: { runCommand: (name: string, options?: Record<string, unknown>) => unknown };
}

export class SsclnetPanel extends React.Component<SsclnetPanelProps> {
  private container = React.createRef<HTMLDivElement>();
  private root: Root | null = null;

  componentDidMount() {
    if (!this.container.current) return;
    const { servicesManager, commandsManager } = this.props;
    this.root = createRoot(this.container.current);
    this.root.render(
      <PanelView
        services={servicesManager.services}
        run={(name, options) => commandsManager.runCommand(name, options)}
      />,
    );
  }

  componentWillUnmount() {
    const root = this.root;
    this.root = null;
    // Unmounting synchronously while the host is mid-render warns and can throw; defer to the next task.
    if (root) setTimeout(() => root.unmount(), 0);
  }

  render() {
    // The host's panel box is a flex column that also holds the panel's title row: take the space left below it
    // (height 100% would overflow the box by the title's height and push the bottom controls off the window).
    return <div ref={this.container} style={{ flex: '1 1 0%', minHeight: 0, height: '100%' }} />;
  }
}
