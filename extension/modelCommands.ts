import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { registerReportingCommand } from './commands';
import { CacheState, type StoreEntry } from '../proto/gen/sidestream/v1/models';
import type { FetchOutcome, ModelFetches } from './modelFetches';
import { fileStatus, type ModelFilesView, type ModelNode } from './modelFilesView';
import { formatBytes } from './modelFormat';
import { errorText } from './client';
import type { ModelStores } from './modelStores';

/** A file a command acts on: a tree item, or `{store, path}` from another extension or a test. */
interface FileTarget {
  store: string;
  path: string;
  entry?: StoreEntry;
}

function fileTarget(argument: unknown): FileTarget | undefined {
  const node = argument as Partial<ModelNode> & { store?: unknown; path?: unknown; entry?: StoreEntry };
  if (node?.kind === 'file' && node.entry) return { store: node.store as string, path: node.entry.path, entry: node.entry };
  if (typeof node?.store === 'string' && typeof node.path === 'string') return { store: node.store, path: node.path };
  return undefined;
}

export function registerModelCommands(stores: ModelStores, fetches: ModelFetches, view: ModelFilesView): vscode.Disposable[] {
  const run = registerReportingCommand;

  /** Every file of every configured store, for the quick pick. */
  const pickFile = async (): Promise<FileTarget | undefined> => {
    const configured = stores.list();
    if (configured.length === 0) {
      const choice = await vscode.window.showInformationMessage('Sidestream: no model store is configured. Add one in the setting sidestream.modelStores.', 'Open Settings');
      if (choice) await vscode.commands.executeCommand('workbench.action.openSettings', 'sidestream.modelStores');
      return undefined;
    }
    const items = (async () => {
      const models = await stores.models();
      const problems: string[] = [];
      const lists = await Promise.all(
        configured.map((store) =>
          models.listAllFiles(store.name).then(
            (files) => files.map((entry) => ({ store: store.name, entry })),
            (error: unknown) => {
              problems.push(`${store.name}: ${errorText(error)}`);
              return [];
            },
          ),
        ),
      );
      if (problems.length) void vscode.window.showWarningMessage(`Sidestream: cannot list ${problems.join('; ')}`);
      return lists.flat().map(({ store, entry }) => {
        const status = fileStatus(entry, fetches.get(store, entry.path), fetches.failure(store, entry.path));
        return { label: `$(${status.icon.id}) ${entry.path}`, description: `${store} · ${formatBytes(entry.size)} · ${status.text}`, target: { store, path: entry.path, entry } };
      });
    })();
    const picked = await vscode.window.showQuickPick(items, { placeHolder: 'Model file to fetch into the cache', matchOnDescription: true });
    return picked?.target;
  };

  const fetch = async (argument?: unknown): Promise<FetchOutcome | undefined> => {
    const target = fileTarget(argument) ?? (await pickFile());
    if (!target) return undefined;
    return fetches.fetch(target.store, target.path);
  };

  /** The local file of a cached tree item, or of `{store, path}` looked up in the cache. */
  const localPath = async (argument: unknown): Promise<string> => {
    const target = fileTarget(argument);
    if (!target) throw new Error('run this on a cached file in the Model Files view');
    if (target.entry?.localPath) return target.entry.localPath;
    const cache = await (await stores.models()).listCache();
    const file = cache.files.find((blob) => blob.refs.some((ref) => ref.store === target.store && ref.path === target.path));
    if (!file) throw new Error(`${target.store}: ${target.path} is not in the cache; fetch it first`);
    return file.localPath;
  };

  return [
    run('sidestream.fetchModelFile', fetch),
    run('sidestream.modelFiles.fetch', fetch),
    run('sidestream.modelFiles.cancel', async (argument?: unknown) => {
      const target = fileTarget(argument);
      if (target && !fetches.cancel(target.store, target.path)) void vscode.window.showInformationMessage(`Sidestream: ${target.path} is not being fetched.`);
    }),
    run('sidestream.modelFiles.evict', async (argument?: unknown) => {
      const target = fileTarget(argument);
      if (!target) throw new Error('run "Evict" on a cached file in the Model Files view');
      const models = await stores.models();
      // A cached entry carries its blob's sha256; a stale one the store's new one, so evict that by name.
      const sha256 = target.entry?.cacheState === CacheState.CACHE_STATE_CACHED ? target.entry.sha256 : '';
      const freed = await models.evict(sha256 ? { sha256 } : { store: target.store, path: target.path });
      fetches.forget(target.store, target.path);
      view.refresh();
      vscode.window.setStatusBarMessage(`Sidestream: evicted ${target.path} (${formatBytes(freed)} freed)`, 5000);
      return freed;
    }),
    run('sidestream.modelFiles.copyPath', async (argument?: unknown) => {
      const path = await localPath(argument);
      await vscode.env.clipboard.writeText(path);
      vscode.window.setStatusBarMessage(`Sidestream: copied ${path}`, 5000);
      return path;
    }),
    run('sidestream.modelFiles.reveal', async (argument?: unknown) => {
      const path = await localPath(argument);
      if (vscode.env.uiKind === vscode.UIKind.Web) {
        // A browser cannot show the server's file manager: open the file's folder in a new window instead.
        await vscode.commands.executeCommand('vscode.openFolder', vscode.Uri.file(dirname(path)), { forceNewWindow: true });
      } else {
        await vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(path));
      }
      return path;
    }),
    run('sidestream.modelFiles.refresh', async () => view.refresh()),
    run('sidestream.showCacheUsage', async () => {
      const usage = await (await stores.models()).usage();
      const limit = usage.limitBytes > 0 ? formatBytes(usage.limitBytes) : 'no limit';
      const partial = usage.partialFiles > 0 ? `, ${formatBytes(usage.partialBytes)} in ${usage.partialFiles} partial file${usage.partialFiles === 1 ? '' : 's'}` : '';
      const text = `Model cache ${usage.folder}: ${usage.cachedFiles} file${usage.cachedFiles === 1 ? '' : 's'}, ${formatBytes(usage.cachedBytes)}${partial}; limit ${limit}; ${formatBytes(usage.freeDiskBytes)} free on the disk.`;
      void vscode.window.showInformationMessage(text, 'Open Folder', 'Clean Cache…').then((choice) => {
        if (choice === 'Open Folder') {
          const folder = vscode.Uri.file(usage.folder);
          void vscode.commands.executeCommand(vscode.env.uiKind === vscode.UIKind.Web ? 'vscode.openFolder' : 'revealFileInOS', folder, { forceNewWindow: true });
        }
        if (choice === 'Clean Cache…') void vscode.commands.executeCommand('sidestream.cleanCache');
      });
      return usage;
    }),
    run('sidestream.cleanCache', async (argument?: unknown) => {
      const models = await stores.models();
      let allUnpinned: boolean;
      if (typeof argument === 'object' && argument !== null && 'allUnpinned' in argument) {
        allUnpinned = Boolean((argument as { allUnpinned: unknown }).allUnpinned);
      } else {
        const usage = await models.usage();
        const partials = 'Delete partial files';
        const all = 'Delete all unpinned files too';
        const choice = await vscode.window.showWarningMessage(
          'Clean the Sidestream model cache?',
          {
            modal: true,
            detail: `${usage.folder}\n\nPartial files (unfinished downloads that nothing is fetching): ${formatBytes(usage.partialBytes)} in ${usage.partialFiles}.\nCached files: ${formatBytes(usage.cachedBytes)} in ${usage.cachedFiles}; pinned files and files being fetched are kept. Deleted files are fetched again when needed.`,
          },
          partials,
          all,
        );
        if (!choice) return undefined;
        allUnpinned = choice === all;
      }
      const result = await models.clean(allUnpinned);
      view.refresh();
      void vscode.window.showInformationMessage(`Sidestream: cache cleaned: ${result.removedFiles} file${result.removedFiles === 1 ? '' : 's'} removed, ${formatBytes(result.freedBytes)} freed.`);
      return result;
    }),
  ];
}
