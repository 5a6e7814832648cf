import * as vscode from 'vscode';
import type { GetInfoResponse, ToolInfo } from '../proto/gen/sidestream/v1/sidecar';
import { errorText } from './client';
import type { SidecarManager } from './sidecarManager';

/** Registers a command whose failure is shown to the person as an error message (with the sidecar's words). */
export function registerReportingCommand(command: string, action: (...args: unknown[]) => Promise<unknown>): vscode.Disposable {
  return vscode.commands.registerCommand(command, async (...args: unknown[]) => {
    try {
      return await action(...args);
    } catch (error) {
      void vscode.window.showErrorMessage(`Sidestream: ${errorText(error)}`);
      return undefined;
    }
  });
}

function describeTool(tool: ToolInfo | undefined, name: string): string {
  if (!tool || tool.error) return `${name} not found`;
  return `${name} ${tool.version}`;
}

export function formatInfoSummary(info: GetInfoResponse): string {
  return `Sidestream sidecar ${info.version} — pid ${info.pid}, ${info.address}, ${describeTool(info.ffmpeg, 'ffmpeg')}, up ${Math.round(info.uptimeSeconds)} s`;
}

export function registerCommands(manager: SidecarManager, channel: vscode.LogOutputChannel): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand('sidestream.restartSidecar', async () => {
      await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Window, title: 'Restarting the Sidestream sidecar' },
        () => manager.restart(),
      );
      if (manager.state !== 'ready') {
        void vscode.window.showWarningMessage('The Sidestream sidecar did not come back; see the Sidestream log.', 'Show Log').then((choice) => {
          if (choice) channel.show();
        });
      }
    }),
    vscode.commands.registerCommand('sidestream.showSidecarInfo', async () => {
      let info: GetInfoResponse;
      try {
        const client = await manager.client();
        info = await client.getInfo();
      } catch (error) {
        const choice = await vscode.window.showErrorMessage(`Sidestream sidecar is not available: ${(error as Error).message}`, 'Restart', 'Show Log');
        if (choice === 'Restart') await vscode.commands.executeCommand('sidestream.restartSidecar');
        if (choice === 'Show Log') channel.show();
        return;
      }
      const details = JSON.stringify(info, null, 2);
      channel.info(`sidecar info: ${details}`);
      for (const tool of [info.ffmpeg, info.ffprobe]) {
        if (tool?.error) channel.warn(tool.error);
      }
      // Not awaited: the command finishes when the info is shown, not when the notification is dismissed.
      void vscode.window.showInformationMessage(formatInfoSummary(info), 'Copy Details', 'Show Log').then(async (choice) => {
        if (choice === 'Copy Details') await vscode.env.clipboard.writeText(details);
        if (choice === 'Show Log') channel.show();
      });
      const missing = [info.ffmpeg, info.ffprobe].find((tool) => tool?.error);
      if (missing) {
        void vscode.window.showWarningMessage(missing.error, 'Open Settings').then((choice) => {
          if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', `sidestream.${missing.name}Path`);
        });
      }
      return info;
    }),
  ];
}
