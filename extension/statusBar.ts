import * as vscode from 'vscode';
import type { SidecarState } from './api';
import type { Handshake } from './handshake';

const presentation: Record<SidecarState, { icon: string; label: string }> = {
  starting: { icon: '$(loading~spin)', label: 'starting' },
  ready: { icon: '$(radio-tower)', label: 'ready' },
  restarting: { icon: '$(sync~spin)', label: 'restarting' },
  error: { icon: '$(error)', label: 'error' },
  stopped: { icon: '$(circle-slash)', label: 'stopped' },
};

/** The status bar item that shows the sidecar's state; clicking it shows the sidecar's info. */
export class SidecarStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('sidestream.sidecar', vscode.StatusBarAlignment.Left, 10);

  constructor() {
    this.item.name = 'Sidestream Sidecar';
    this.item.command = 'sidestream.showSidecarInfo';
    this.update('starting');
    this.item.show();
  }

  get text(): string {
    return this.item.text;
  }

  update(state: SidecarState, detail?: { handshake?: Handshake | undefined; message?: string | undefined }): void {
    const { icon, label } = presentation[state];
    this.item.text = `${icon} Sidestream: ${label}`;
    this.item.accessibilityInformation = { label: `Sidestream sidecar ${label}`, role: 'button' };
    this.item.backgroundColor = state === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.command = state === 'error' ? 'sidestream.restartSidecar' : 'sidestream.showSidecarInfo';
    const tooltip = new vscode.MarkdownString(`**Sidestream sidecar: ${label}**`);
    if (detail?.handshake) {
      tooltip.appendMarkdown(`\n\nversion ${detail.handshake.version} · pid ${detail.handshake.pid} · \`${detail.handshake.address}\``);
    }
    if (detail?.message) tooltip.appendText(`\n\n${detail.message}`);
    tooltip.appendMarkdown(state === 'error' ? '\n\nClick to restart.' : '\n\nClick for details.');
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    this.item.dispose();
  }
}
