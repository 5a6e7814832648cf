import * as vscode from 'vscode';
import { registerReportingCommand } from './commands';
import type { StreamInfo } from '../proto/gen/sidestream/v1/streams';
import type { OpenedStream, OpenedStreams } from './openedStreams';
import { chooseSource } from './openStream';
import { StreamPanel } from './streamPanel';
import type { WebrtcIngest } from './webrtcIngest';

/** The stream a command acts on: the tree item it was run on, the only one, or one the person picks. */
async function targetStream(streams: OpenedStreams, argument: unknown, filter: (stream: OpenedStream) => boolean = () => true): Promise<OpenedStream | undefined> {
  const id = (argument as StreamInfo | undefined)?.id ?? (typeof argument === 'string' ? argument : undefined);
  if (id) return streams.get(id);
  const candidates = streams.list().filter(filter);
  if (candidates.length <= 1) {
    if (candidates.length === 0) void vscode.window.showInformationMessage('Sidestream: no stream to do that with; open one with "Sidestream: Open Stream…"');
    return candidates[0];
  }
  const picked = await vscode.window.showQuickPick(candidates.map((stream) => ({ label: stream.name, description: stream.uri, stream })), { placeHolder: 'Which stream?' });
  return picked?.stream;
}

export function registerStreamCommands(context: vscode.ExtensionContext, streams: OpenedStreams, ingest: WebrtcIngest): vscode.Disposable[] {
  const panel = (ids: string[] = []) => StreamPanel.show(context, streams, ids);
  const run = registerReportingCommand;
  return [
    run('sidestream.openStream', async (uriArgument?: unknown) => {
      const uri = typeof uriArgument === 'string' ? uriArgument : await chooseSource(() => streams.media(), streams.recentSources(), ingest);
      if (!uri) return undefined;
      const stream = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Opening ${uri}` }, () => streams.open(uri));
      panel([stream.id]);
      return stream.id;
    }),
    run('sidestream.showPanel', async () => panel()),
    run('sidestream.startWebrtcIngest', async () => {
      const endpoint = await ingest.start();
      return { url: endpoint.url, publishUrl: endpoint.publishUrl };
    }),
    run('sidestream.showStreamInPanel', async (item?: unknown) => {
      const stream = await targetStream(streams, item);
      if (stream) panel([stream.id]);
    }),
    run('sidestream.closeStream', async (item?: unknown) => {
      const stream = await targetStream(streams, item);
      if (stream) await streams.close(stream.id);
    }),
    run('sidestream.closeAllStreams', () => streams.closeAll()),
    run('sidestream.snapshot', async (item?: unknown) => {
      const stream = await targetStream(streams, item);
      if (!stream) return undefined;
      const shown = panel([stream.id]);
      return (await shown.snapshot(stream.id)).fsPath;
    }),
    run('sidestream.startRecording', async (item?: unknown) => {
      const stream = await targetStream(streams, item, (s) => !streams.recordingOf(s.id));
      if (!stream) return undefined;
      await panel([stream.id]).record(stream.id);
      return streams.recordingOf(stream.id)?.file;
    }),
    run('sidestream.stopRecording', async (item?: unknown) => {
      const stream = await targetStream(streams, item, (s) => streams.recordingOf(s.id) !== undefined);
      if (!stream) return undefined;
      const file = await panel([stream.id]).stopRecording(stream.id);
      if (file) {
        void vscode.window.showInformationMessage(`Recording saved: ${vscode.workspace.asRelativePath(file)}`, 'Open').then((choice) => {
          if (choice) void vscode.commands.executeCommand('vscode.open', vscode.Uri.file(file));
        });
      }
      return file;
    }),
    run('sidestream.toggleRecording', async (item?: unknown) => {
      const stream = await targetStream(streams, item);
      if (!stream) return undefined;
      return vscode.commands.executeCommand(streams.recordingOf(stream.id) ? 'sidestream.stopRecording' : 'sidestream.startRecording', stream.id);
    }),
  ];
}
