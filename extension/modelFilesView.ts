import * as vscode from 'vscode';
import { CacheState, FetchState, type StoreEntry } from '../proto/gen/sidestream/v1/models';
import { type ActiveFetch, fileKey, type ModelFetches } from './modelFetches';
import { baseName, formatBytes, percentOf } from './modelFormat';
import { errorText } from './client';
import type { ModelStores } from './modelStores';

export type ModelNode =
  | { kind: 'store'; store: string; address: string }
  | { kind: 'folder'; store: string; path: string }
  | { kind: 'file'; store: string; entry: StoreEntry }
  | { kind: 'message'; key: string; text: string; detail: string; error: boolean };

type FileNode = Extract<ModelNode, { kind: 'file' }>;

/** What the view says about a file: its description word(s), icon and context value. */
export function fileStatus(entry: StoreEntry, fetch: ActiveFetch | undefined, failure: string | undefined): { text: string; icon: vscode.ThemeIcon; context: string } {
  if (fetch) {
    const words: Partial<Record<FetchState, string>> = {
      [FetchState.FETCH_STATE_RESOLVING]: 'starting',
      [FetchState.FETCH_STATE_WAITING]: 'waiting',
      [FetchState.FETCH_STATE_VERIFYING]: 'verifying',
    };
    const text = words[fetch.state] ?? `downloading ${percentOf(fetch.bytesDone, fetch.bytesTotal || entry.size)} %`;
    return { text, icon: new vscode.ThemeIcon('sync~spin'), context: 'modelFile.downloading' };
  }
  if (failure) return { text: `failed: ${failure}`, icon: new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground')), context: 'modelFile.failed' };
  switch (entry.cacheState) {
    case CacheState.CACHE_STATE_CACHED:
      return { text: 'cached', icon: new vscode.ThemeIcon('pass-filled', new vscode.ThemeColor('testing.iconPassed')), context: 'modelFile.cached' };
    case CacheState.CACHE_STATE_PARTIAL:
      return { text: `partial ${percentOf(entry.partialBytes, entry.size)} %`, icon: new vscode.ThemeIcon('debug-pause'), context: 'modelFile.partial' };
    case CacheState.CACHE_STATE_STALE:
      return { text: 'stale', icon: new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground')), context: 'modelFile.stale' };
    default:
      return { text: 'remote', icon: new vscode.ThemeIcon('cloud'), context: 'modelFile.remote' };
  }
}

/**
 * The Model Files view in the Explorer: configured stores → folders → files, each file
 * with its size and cache state, refreshed while this window fetches and after every
 * change it makes.
 */
export class ModelFilesView implements vscode.TreeDataProvider<ModelNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ModelNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  /** One node object per file, reused across listings: the tree can then update a single row. */
  private readonly files = new Map<string, FileNode>();
  private readonly pending = new Set<FileNode>();
  private throttle: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[];

  constructor(
    private readonly stores: ModelStores,
    private readonly fetches: ModelFetches,
  ) {
    this.disposables = [
      stores.onDidChange(() => this.refresh()),
      fetches.onDidChange(({ store, path, finished }) => {
        if (finished) {
          this.refresh();
          return;
        }
        const node = this.files.get(fileKey(store, path));
        if (node) this.schedule(node);
      }),
    ];
  }

  /** Lists everything again. */
  refresh(): void {
    this.pending.clear();
    this.changed.fire(undefined);
  }

  /** Repaints a file's row at most every 500 ms while its fetch runs. */
  private schedule(node: FileNode): void {
    this.pending.add(node);
    if (this.throttle) return;
    this.throttle = setTimeout(() => {
      this.throttle = undefined;
      const nodes = [...this.pending];
      this.pending.clear();
      for (const pending of nodes) this.changed.fire(pending);
    }, 500);
  }

  async getChildren(node?: ModelNode): Promise<ModelNode[]> {
    if (!node) return this.stores.list().map((store): ModelNode => ({ kind: 'store', store: store.name, address: store.address }));
    if (node.kind === 'file' || node.kind === 'message') return [];
    const folder = node.kind === 'folder' ? node.path : '';
    try {
      const models = await this.stores.models();
      const entries = await models.listFiles(node.store, folder);
      if (entries.length === 0) return [{ kind: 'message', key: `${node.store}/${folder}/empty`, text: 'No files', detail: '', error: false }];
      return entries.map((entry) => (entry.isFolder ? { kind: 'folder', store: node.store, path: entry.path } : this.fileNode(node.store, entry)));
    } catch (error) {
      const text = errorText(error);
      return [{ kind: 'message', key: `${node.store}/${folder}/error`, text: `Cannot list: ${text}`, detail: text, error: true }];
    }
  }

  private fileNode(store: string, entry: StoreEntry): FileNode {
    const key = fileKey(store, entry.path);
    const node = this.files.get(key) ?? { kind: 'file', store, entry };
    node.entry = entry;
    this.files.set(key, node);
    return node;
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    switch (node.kind) {
      case 'store': {
        const item = new vscode.TreeItem(node.store, vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `store:${node.store}`;
        item.description = node.address;
        item.tooltip = `Model store "${node.store}" at ${node.address}`;
        item.iconPath = new vscode.ThemeIcon('database');
        item.contextValue = 'modelStore';
        return item;
      }
      case 'folder': {
        const item = new vscode.TreeItem(baseName(node.path), vscode.TreeItemCollapsibleState.Collapsed);
        item.id = `folder:${fileKey(node.store, node.path)}`;
        item.iconPath = vscode.ThemeIcon.Folder;
        item.tooltip = `${node.store}: ${node.path}/`;
        item.contextValue = 'modelFolder';
        return item;
      }
      case 'message': {
        const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
        item.id = `message:${node.key}`;
        item.tooltip = node.detail || node.text;
        if (node.error) item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
        return item;
      }
      case 'file':
        return this.fileItem(node);
    }
  }

  private fileItem(node: FileNode): vscode.TreeItem {
    const { entry, store } = node;
    const fetch = this.fetches.get(store, entry.path);
    const failure = this.fetches.failure(store, entry.path);
    const status = fileStatus(entry, fetch, failure);
    const item = new vscode.TreeItem(baseName(entry.path), vscode.TreeItemCollapsibleState.None);
    item.id = `file:${fileKey(store, entry.path)}`;
    item.description = `${formatBytes(entry.size)} · ${status.text}`;
    item.iconPath = status.icon;
    item.contextValue = status.context;
    item.accessibilityInformation = { label: `${baseName(entry.path)}, ${formatBytes(entry.size)}, ${status.text}` };
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**${store}:** \`${entry.path}\`\n\n`);
    tooltip.appendMarkdown(`${formatBytes(entry.size)} (${entry.size.toLocaleString('en-US')} bytes) · ${status.text}\n\n`);
    if (entry.sha256) tooltip.appendMarkdown(`sha256 \`${entry.sha256}\`\n\n`);
    if (entry.revision) tooltip.appendMarkdown(`revision \`${entry.revision}\`\n\n`);
    if (entry.localPath) tooltip.appendMarkdown(`local \`${entry.localPath}\``);
    item.tooltip = tooltip;
    return item;
  }

  dispose(): void {
    if (this.throttle) clearTimeout(this.throttle);
    this.changed.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
