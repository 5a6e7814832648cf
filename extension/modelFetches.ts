import { type ClientReadableStream, status } from '@grpc/grpc-js';
import * as vscode from 'vscode';
import { type FetchFileResponse, FetchState } from '../proto/gen/sidestream/v1/models';
import { readModelFetchConfig } from './config';
import { baseName, formatBytes, percentOf, progressMessage } from './modelFormat';
import { errorText } from './client';
import type { ModelStores } from './modelStores';

export const fileKey = (store: string, path: string) => `${store}\u0000${path}`;

/** A fetch this window runs. */
export interface ActiveFetch {
  store: string;
  path: string;
  state: FetchState;
  bytesDone: number;
  bytesTotal: number;
  message: string;
}

export interface FetchOutcome {
  /** 'done': the file is local; 'cancelled': stopped, the partial kept; 'failed': see error. */
  result: 'done' | 'cancelled' | 'failed';
  localPath?: string;
  sha256?: string;
  fromCache?: boolean;
  error?: string;
}

const stateWords: Partial<Record<FetchState, string>> = {
  [FetchState.FETCH_STATE_RESOLVING]: 'asking the store',
  [FetchState.FETCH_STATE_WAITING]: 'waiting for another fetch of this file',
  [FetchState.FETCH_STATE_VERIFYING]: 'checking sha256',
};

/**
 * The fetches this window runs, each with a cancellable progress notification; the
 * Model Files view reads their progress and the reasons of the last failures.
 */
export class ModelFetches implements vscode.Disposable {
  private readonly active = new Map<string, { fetch: ActiveFetch; done: Promise<FetchOutcome>; cancel(): void }>();
  /** Why the last fetch of a file failed, until it is fetched again or evicted. */
  private readonly failures = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<{ store: string; path: string; finished: boolean }>();
  /** Fires on progress (throttle it) and, with finished: true, when a fetch ends. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly stores: ModelStores) {}

  get(store: string, path: string): ActiveFetch | undefined {
    return this.active.get(fileKey(store, path))?.fetch;
  }

  failure(store: string, path: string): string | undefined {
    return this.failures.get(fileKey(store, path));
  }

  forget(store: string, path: string): void {
    this.failures.delete(fileKey(store, path));
  }

  /** Cancels a running fetch; false when there was none. The partial file stays for the next fetch. */
  cancel(store: string, path: string): boolean {
    const running = this.active.get(fileKey(store, path));
    running?.cancel();
    return running !== undefined;
  }

  /** Fetches a file with a progress notification (cancel keeps the partial file); a second call joins the running fetch. */
  fetch(store: string, path: string): Promise<FetchOutcome> {
    const key = fileKey(store, path);
    const running = this.active.get(key);
    if (running) return running.done;
    const fetch: ActiveFetch = { store, path, state: FetchState.FETCH_STATE_RESOLVING, bytesDone: 0, bytesTotal: 0, message: '' };
    let call: ClientReadableStream<FetchFileResponse> | undefined;
    let cancelled = false;
    const cancel = () => {
      cancelled = true;
      call?.cancel();
    };
    this.failures.delete(key);
    const done = Promise.resolve(vscode.window
      .withProgress({ location: vscode.ProgressLocation.Notification, title: `Fetching ${store}: ${path}`, cancellable: true }, async (progress, token) => {
        token.onCancellationRequested(cancel);
        const models = await this.stores.models();
        if (cancelled) return { result: 'cancelled' } as FetchOutcome;
        const config = readModelFetchConfig();
        call = models.fetch({ store, path, concurrency: config.concurrency, chunkBytes: config.chunkBytes, maxBytesPerSecond: config.maxBytesPerSecond });
        let reported = 0;
        return new Promise<FetchOutcome>((resolve) => {
          let last: FetchFileResponse | undefined;
          call!.on('data', (event: FetchFileResponse) => {
            last = event;
            Object.assign(fetch, { state: event.state, bytesDone: event.bytesDone, bytesTotal: event.bytesTotal, message: event.message });
            const percent = percentOf(event.bytesDone, event.bytesTotal);
            const detail = progressMessage(event.bytesDone, event.bytesTotal, event.bytesPerSecond, event.etaSeconds);
            const message = event.state === FetchState.FETCH_STATE_DOWNLOADING
              ? [event.message, detail].filter(Boolean).join(' · ')
              : event.message || stateWords[event.state] || detail;
            progress.report({ increment: Math.max(0, percent - reported), message });
            reported = Math.max(reported, percent);
            this.changed.fire({ store, path, finished: false });
          });
          call!.on('error', (error) => {
            if (cancelled || (error as { code?: number }).code === status.CANCELLED) resolve({ result: 'cancelled' });
            else resolve({ result: 'failed', error: errorText(error) });
          });
          call!.on('end', () => {
            if (last?.state === FetchState.FETCH_STATE_DONE) resolve({ result: 'done', localPath: last.localPath, sha256: last.sha256, fromCache: last.fromCache });
            else resolve({ result: 'failed', error: 'the sidecar ended the fetch before the file was complete' });
          });
        });
      }))
      .then(
        (outcome) => outcome,
        (error: unknown): FetchOutcome => ({ result: 'failed', error: errorText(error) }),
      )
      .then((outcome) => {
        this.active.delete(key);
        if (outcome.result === 'failed') this.failures.set(key, outcome.error ?? 'unknown error');
        this.changed.fire({ store, path, finished: true });
        this.announce(store, path, fetch, outcome);
        return outcome;
      });
    this.active.set(key, { fetch, done, cancel });
    this.changed.fire({ store, path, finished: false });
    return done;
  }

  private announce(store: string, path: string, fetch: ActiveFetch, outcome: FetchOutcome): void {
    const name = `${store}: ${path}`;
    if (outcome.result === 'failed') {
      void vscode.window.showErrorMessage(`Sidestream: could not fetch ${name}: ${outcome.error}`, 'Retry').then((choice) => {
        if (choice) void this.fetch(store, path);
      });
    } else if (outcome.result === 'cancelled') {
      const kept = fetch.bytesDone > 0 ? `; the ${formatBytes(fetch.bytesDone)} downloaded are kept for resume` : '';
      void vscode.window.showInformationMessage(`Sidestream: fetch of ${name} cancelled${kept}.`);
    } else {
      const how = outcome.fromCache ? 'was already in the cache' : 'fetched and verified (sha256)';
      void vscode.window.showInformationMessage(`Sidestream: ${baseName(path)} ${how}.`, 'Copy Local Path').then((choice) => {
        if (choice && outcome.localPath) void vscode.env.clipboard.writeText(outcome.localPath);
      });
    }
  }

  dispose(): void {
    for (const running of this.active.values()) running.cancel();
    this.changed.dispose();
  }
}
