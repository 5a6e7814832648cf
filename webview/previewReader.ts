import { type PreviewRecord, PreviewStreamParser } from '../proto/codec/previewStream';

const firstRetryMs = 500;
const maxRetryMs = 8000;

/**
 * Reads one tile's preview from the sidecar's preview endpoint with fetch and a
 * ReadableStream reader, record by record, as fast as they come (the tile keeps only
 * the newest). A response that fails or ends is fetched again with backoff (the sidecar
 * restarting, a stream reopening) until `stop()`.
 */
export class PreviewReader {
  private readonly abort = new AbortController();
  private retryMs = firstRetryMs;

  constructor(
    readonly url: string,
    readonly token: string,
    private readonly onRecord: (record: PreviewRecord) => void,
    private readonly onProblem: (problem: string) => void,
  ) {
    void this.run();
  }

  stop(): void {
    this.abort.abort();
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.readOnce();
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.onProblem((error as Error).message);
      }
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      this.retryMs = Math.min(maxRetryMs, this.retryMs * 2);
    }
  }

  private async readOnce(): Promise<void> {
    const response = await fetch(this.url, { headers: { Authorization: `Bearer ${this.token}` }, cache: 'no-store', signal: this.abort.signal });
    if (!response.ok || !response.body) throw new Error(`preview ${response.status}: ${(await response.text()).trim()}`);
    const parser = new PreviewStreamParser();
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      for (const record of parser.push(value)) {
        this.retryMs = firstRetryMs;
        this.onRecord(record);
      }
    }
  }
}
