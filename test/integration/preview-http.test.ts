// The sidecar's preview endpoint (what the stream panel's webview reads) over real HTTP
// on loopback: JPEG records of the size asked for, the preview token and nothing else
// opens it, clear statuses for bad requests, CORS for a webview's origin, and a reader
// that stops reading costs drops, not memory.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { describe, test } from 'node:test';
import { PreviewStreamParser, type PreviewRecord } from '../../proto/codec/previewStream';
import { SidecarClient } from '../../extension/client';
import { sleep } from './helpers/sidecar';
import { useStreamsSidecar } from './helpers/streams';

const rig = useStreamsSidecar();

interface Preview {
  url: string;
  token: string;
}

async function previewEndpoint(): Promise<Preview> {
  const client = new SidecarClient(rig.sidecar.address, rig.token);
  try {
    const info = await client.getInfo();
    return { url: info.previewUrl, token: info.previewToken };
  } finally {
    client.close();
  }
}

/** A plain request: status, headers and body text (for the error cases). */
function fetchText(url: string, options: { method?: string; token?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: { ...(options.token ? { Authorization: `Bearer ${options.token}` } : {}), ...options.headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('error', reject);
    req.end();
  });
}

/** Reads records until `count` arrived (or `onRecord` says stop); `pauseAfter` stops reading for a while after that many. */
function readRecords(url: string, token: string, count: number, pause?: { after: number; ms: number }, stop?: (record: PreviewRecord) => boolean): Promise<PreviewRecord[]> {
  return new Promise((resolve, reject) => {
    const parser = new PreviewStreamParser();
    const records: PreviewRecord[] = [];
    let paused = false;
    let settled = false;
    const req = request(url, { headers: { Authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      res.on('data', (chunk: Buffer) => {
        for (const record of parser.push(chunk)) {
          records.push({ ...record, data: Buffer.from(record.data) });
          if (pause && !paused && records.length === pause.after) {
            paused = true;
            res.pause();
            setTimeout(() => res.resume(), pause.ms);
          }
          if (records.length === count || stop?.(record)) {
            settled = true;
            req.destroy();
            resolve(records);
            return;
          }
        }
      });
      res.once('end', () => reject(new Error(`the preview ended after ${records.length} records`)));
    });
    req.once('error', (error) => (settled ? undefined : reject(error)));
    req.end();
  });
}

describe('preview endpoint', () => {
  test('GetInfo names a loopback URL and a preview token that is not the sidecar token', async () => {
    const preview = await previewEndpoint();
    assert.match(preview.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(preview.token.length >= 32);
    assert.notEqual(preview.token, rig.token);
  });

  test('streams JPEG records at the width asked for, in sequence order, stamped with their capture time', async () => {
    await rig.client.open({ uri: 'test:video?size=640x360&rate=30', id: 'preview-a' });
    const preview = await previewEndpoint();
    const started = Date.now();
    const records = await readRecords(`${preview.url}/preview/preview-a?width=320&quality=6`, preview.token, 20);
    for (const record of records) {
      assert.equal(record.width, 320);
      assert.equal(record.height, 180);
      assert.deepEqual([...record.data.subarray(0, 2)], [0xff, 0xd8], 'a JPEG starts with SOI');
      assert.deepEqual([...record.data.subarray(-2)], [0xff, 0xd9], 'and ends with EOI');
      assert.ok(record.capturedAtMs > started - 5000 && record.capturedAtMs <= Date.now(), `capture time ${record.capturedAtMs} is recent`);
    }
    for (let i = 1; i < records.length; i++) assert.ok(records[i]!.sequence > records[i - 1]!.sequence, 'sequences increase');
    await sleep(300);
    const [stream] = (await rig.client.list()).filter((s) => s.id === 'preview-a');
    assert.equal(stream!.subscribers, 0, 'the subscription ended with the response');
  });

  test('only the preview token opens it: none, a wrong one, or the sidecar token → 401 saying what is needed', async () => {
    const preview = await previewEndpoint();
    const url = `${preview.url}/preview/preview-a`;
    const missing = await fetchText(url);
    assert.equal(missing.status, 401);
    assert.match(missing.body, /Authorization: Bearer <preview token>/);
    assert.equal((await fetchText(url, { token: 'x'.repeat(43) })).status, 401);
    const sidecarToken = await fetchText(url, { token: rig.token });
    assert.equal(sidecarToken.status, 401);
    assert.match(sidecarToken.body, /preview_token/);
  });

  test('bad requests get a status and a message naming what to fix', async () => {
    const preview = await previewEndpoint();
    const unknown = await fetchText(`${preview.url}/preview/no-such-stream`, { token: preview.token });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /no-such-stream/);
    const width = await fetchText(`${preview.url}/preview/preview-a?width=-5`, { token: preview.token });
    assert.equal(width.status, 400);
    assert.match(width.body, /width must be an integer 0–7680; got "-5"/);
    const policy = await fetchText(`${preview.url}/preview/preview-a?policy=wait`, { token: preview.token });
    assert.equal(policy.status, 400);
    assert.match(policy.body, /policy must be one of latest_only, drop_oldest, adaptive/);
    assert.equal((await fetchText(`${preview.url}/preview/preview-a`, { token: preview.token, method: 'POST' })).status, 405);
    assert.equal((await fetchText(`${preview.url}/elsewhere`, { token: preview.token })).status, 404);
    const encoding = await fetchText(`${preview.url}/preview/%E0%A4%A`, { token: preview.token });
    assert.equal(encoding.status, 400);
    assert.match(encoding.body, /not percent-encoded correctly/);
    assert.equal((await rig.client.list()).length > 0, true, 'the sidecar still answers');
  });

  test('answers a CORS preflight (a webview is another origin), and its responses allow any origin', async () => {
    const preview = await previewEndpoint();
    const preflight = await fetchText(`${preview.url}/preview/preview-a`, {
      method: 'OPTIONS',
      headers: { Origin: 'vscode-webview://abc', 'Access-Control-Request-Method': 'GET', 'Access-Control-Request-Headers': 'authorization', 'Access-Control-Request-Private-Network': 'true' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['access-control-allow-origin'], '*');
    assert.match(String(preflight.headers['access-control-allow-headers']), /Authorization/i);
    assert.equal(preflight.headers['access-control-allow-private-network'], 'true');
  });

  test('a preview response tells proxies not to transform it (code-server would compress, and so hold back, the records)', async () => {
    const preview = await previewEndpoint();
    const headers = await new Promise<Record<string, unknown>>((resolve, reject) => {
      const req = request(`${preview.url}/preview/preview-a`, { headers: { Authorization: `Bearer ${preview.token}` } }, (res) => {
        resolve(res.headers);
        req.destroy();
      });
      req.once('error', reject);
      req.end();
    });
    assert.match(String(headers['cache-control']), /no-transform/);
    assert.equal(headers['content-type'], 'application/octet-stream');
    assert.equal(headers['access-control-allow-origin'], '*');
  });

  test('a reader that stops reading costs drops, counted in the next record, not a backlog in the sidecar', async () => {
    // Large frames (1280 wide, best quality): the sockets' buffers hold a few dozen of
    // them; the 150 produced while the reader sleeps cannot all wait anywhere.
    await rig.client.open({ uri: 'test:video?size=1280x720&rate=30', id: 'preview-big' });
    const preview = await previewEndpoint();
    const records = await readRecords(`${preview.url}/preview/preview-big?width=1280&quality=2`, preview.token, 600, { after: 5, ms: 5000 }, (record) => record.droppedBefore > 0);
    const last = records.at(-1)!;
    assert.ok(last.droppedBefore > 0, `no record counted drops in ${records.length} records`);
    assert.ok(Date.now() - last.capturedAtMs < 1000, `the record after the drops is live (captured ${Date.now() - last.capturedAtMs} ms ago)`);
    const behind = records.filter((record) => Date.now() - record.capturedAtMs > 1000).length;
    assert.ok(behind < 150, `what waited in buffers is bounded: ${behind} stale records`);
    await rig.client.close('preview-big');
  });
});
