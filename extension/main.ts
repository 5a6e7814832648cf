import * as vscode from 'vscode';
import type { SidestreamApi } from './api';
import { registerCommands } from './commands';
import { sidecarSettings } from './config';
import { discoveryFilePath } from './discovery';
import { registerModelCommands } from './modelCommands';
import { ModelFetches } from './modelFetches';
import { ModelFilesView } from './modelFilesView';
import { ModelStores } from './modelStores';
import { OpenedStreams } from './openedStreams';
import { SidecarManager } from './sidecarManager';
import { SidecarStatusBar } from './statusBar';
import { registerStreamCommands } from './streamCommands';
import { StreamPanel, streamPanelViewType } from './streamPanel';
import { StreamsView } from './streamsView';
import { WebrtcIngest } from './webrtcIngest';

let manager: SidecarManager | undefined;

export function activate(context: vscode.ExtensionContext): SidestreamApi {
  const channel = vscode.window.createOutputChannel('Sidestream', { log: true });
  const statusBar = new SidecarStatusBar();
  const discoveryPath = discoveryFilePath();
  manager = new SidecarManager({
    sidecarScript: vscode.Uri.joinPath(context.extensionUri, 'dist', 'sidecar.js').fsPath,
    channel,
    statusBar,
    discoveryPath,
    defaultModelCacheFolder: vscode.Uri.joinPath(context.globalStorageUri, 'models').fsPath,
  });
  const sidecar = manager;
  const streams = new OpenedStreams(sidecar, context.globalState);
  const streamsView = new StreamsView(streams);
  const ingest = new WebrtcIngest(sidecar, streams, channel);
  const modelStores = new ModelStores(sidecar, channel);
  const modelFetches = new ModelFetches(modelStores);
  const modelFilesView = new ModelFilesView(modelStores, modelFetches);

  context.environmentVariableCollection.description = 'Lets programs in this terminal find the Sidestream sidecar';
  context.environmentVariableCollection.persistent = false;
  context.environmentVariableCollection.replace('SIDESTREAM_DISCOVERY_FILE', discoveryPath);

  context.subscriptions.push(
    channel,
    statusBar,
    sidecar,
    ...registerCommands(sidecar, channel),
    streams,
    streamsView,
    vscode.window.registerTreeDataProvider('sidestream.streams', streamsView),
    vscode.window.registerWebviewPanelSerializer(streamPanelViewType, StreamPanel.serializer(context, streams)),
    ...registerStreamCommands(context, streams, ingest),
    ingest,
    modelStores,
    modelFetches,
    modelFilesView,
    vscode.window.createTreeView('sidestream.modelFiles', { treeDataProvider: modelFilesView, showCollapseAll: true }),
    ...registerModelCommands(modelStores, modelFetches, modelFilesView),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (sidecarSettings.some((key) => event.affectsConfiguration(key))) {
        channel.info('sidecar settings changed; restarting the sidecar');
        void sidecar.restart();
      }
    }),
  );
  sidecar.start();

  return {
    get state() {
      return sidecar.state;
    },
    onDidChangeState: sidecar.onDidChangeState,
    whenReady: (timeoutMs) => sidecar.whenReady(timeoutMs),
    sidecarPid: () => sidecar.pid,
    getInfo: async () => (await sidecar.client()).getInfo(),
    statusBarText: () => statusBar.text,
    discoveryFilePath: () => discoveryPath,
  };
}

export async function deactivate(): Promise<void> {
  await manager?.stop();
  manager = undefined;
}
