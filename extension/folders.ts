import * as vscode from 'vscode';
import { configSection } from './config';

/**
 * Where recordings and snapshots go: the setting when it is set (`${workspaceFolder}`
 * expands), else a folder in the first workspace folder, else the extension's storage.
 * The folder is created when missing.
 */
async function folderFor(context: vscode.ExtensionContext, setting: string, name: string): Promise<vscode.Uri> {
  const workspace = vscode.workspace.workspaceFolders?.[0]?.uri;
  const configured = vscode.workspace.getConfiguration(configSection).get<string>(setting, '').trim();
  let folder: vscode.Uri;
  if (configured) {
    const expanded = configured.replace(/\$\{workspaceFolder\}/g, workspace?.fsPath ?? '');
    folder = vscode.Uri.file(expanded);
  } else {
    folder = vscode.Uri.joinPath(workspace ?? context.globalStorageUri, name);
  }
  await vscode.workspace.fs.createDirectory(folder);
  return folder;
}

export async function recordingFolder(context: vscode.ExtensionContext): Promise<string> {
  return (await folderFor(context, 'recordingFolder', 'recordings')).fsPath;
}

export function snapshotFolder(context: vscode.ExtensionContext): Promise<vscode.Uri> {
  return folderFor(context, 'snapshotFolder', 'snapshots');
}
