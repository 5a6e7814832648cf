import * as vscode from 'vscode';
import { configSection } from './config';
import { type ModelStoreSetting, readModelStores } from './modelFormat';
import { errorText } from './client';
import { ModelsClient } from './models';
import type { SidecarManager } from './sidecarManager';

/**
 * Keeps the sidecar's model stores equal to the `sidestream.modelStores` setting: sends
 * them (SetStores) when the sidecar becomes ready (first start and every restart) and
 * when the setting changes. `models()` waits for that, so no call meets a sidecar that
 * does not know the stores yet.
 */
export class ModelStores implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  /** Fires after the stores were sent (or sending failed), and when the setting changes. */
  readonly onDidChange = this.changed.event;
  private readonly disposables: vscode.Disposable[];
  private sync: Promise<ModelsClient> | undefined;
  private warned = '';

  constructor(
    private readonly manager: SidecarManager,
    private readonly channel: vscode.LogOutputChannel,
  ) {
    this.disposables = [
      manager.onDidChangeState((state) => {
        this.sync = undefined;
        if (state === 'ready') void this.models().then(() => this.changed.fire(), () => this.changed.fire());
      }),
      vscode.workspace.onDidChangeConfiguration((event) => {
        if (!event.affectsConfiguration(`${configSection}.modelStores`)) return;
        this.sync = undefined;
        void this.models().then(() => this.changed.fire(), () => this.changed.fire());
      }),
    ];
  }

  /** The configured stores (skipping invalid entries, which are reported once in a warning). */
  list(): ModelStoreSetting[] {
    const { stores, problems } = readModelStores(vscode.workspace.getConfiguration(configSection).get<unknown>('modelStores'), process.env);
    const warning = problems.join('; ');
    if (warning && warning !== this.warned) {
      this.channel.warn(warning);
      void vscode.window.showWarningMessage(`Sidestream: ${warning}`, 'Open Settings').then((choice) => {
        if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', `${configSection}.modelStores`);
      });
    }
    this.warned = warning;
    return stores;
  }

  /** A Models client of the ready sidecar, once it has the configured stores. */
  models(): Promise<ModelsClient> {
    if (!this.sync) {
      const attempt = this.send();
      this.sync = attempt;
      // A failed attempt is not kept: the next call tries again.
      attempt.catch(() => {
        if (this.sync === attempt) this.sync = undefined;
      });
    }
    return this.sync;
  }

  private async send(): Promise<ModelsClient> {
    const models = new ModelsClient(await this.manager.client());
    const stores = this.list();
    try {
      await models.setStores(stores);
    } catch (error) {
      const message = `the sidecar refused the model stores: ${errorText(error)}`;
      this.channel.error(message);
      throw new Error(message);
    }
    this.channel.info(`model stores: ${stores.map((store) => `${store.name} (${store.address})`).join(', ') || 'none'}`);
    return models;
  }

  dispose(): void {
    this.changed.dispose();
    for (const disposable of this.disposables) disposable.dispose();
  }
}
