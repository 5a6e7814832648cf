// Real network sources on loopback for the media tests: GStreamer's RTSP server, an
// ffmpeg UDP/MPEG-TS sender, and a small HTTP server for HLS folders.
import { type ChildProcess, spawn } from 'node:child_process';
import { createReadStream, statSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer } from 'node:net';
import { join, normalize, sep } from 'node:path';
import { createInterface } from 'node:readline';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface Helper {
  child: ChildProcess;
  /** SIGKILL, and wait for the exit. */
  kill(): Promise<void>;
}

function track(child: ChildProcess): Helper {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.once('exit', () => child.kill('SIGKILL'));
  return {
    child,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** GStreamer's RTSP server with a live 640x360 30 fps H264 pattern at rtsp://127.0.0.1:PORT/test. */
export async function startRtspServer(port: number): Promise<Helper> {
  const child = spawn('/usr/bin/python3', [join(__dirname, 'rtsp_server.py'), String(port), '/test'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const helper = track(child);
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the RTSP server did not start: ${stderr.join('\n')}`)), 15_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the RTSP server exited (${code}): ${stderr.join('\n')}`));
    });
  });
  return helper;
}

/** ffmpeg sending a live 320x240 30 fps H264 pattern as MPEG-TS to udp://127.0.0.1:PORT. */
export function startUdpSender(port: number): Helper {
  const child = spawn(
    'ffmpeg',
    ['-hide_banner', '-nostdin', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=30', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-f', 'mpegts', `udp://127.0.0.1:${port}?pkt_size=1316`],
    { stdio: 'ignore' },
  );
  return track(child);
}

/** Serves the files of `root` read-only over HTTP on loopback; nothing outside `root`. */
export async function serveFolder(root: string): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const server = createHttpServer((request, response) => {
    const path = normalize(join(root, decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)));
    if (!path.startsWith(root + sep)) {
      response.writeHead(403).end();
      return;
    }
    let size: number;
    try {
      size = statSync(path).size;
    } catch {
      response.writeHead(404).end();
      return;
    }
    const type = path.endsWith('.m3u8') ? 'application/vnd.apple.mpegurl' : path.endsWith('.ts') ? 'video/mp2t' : 'application/octet-stream';
    response.writeHead(200, { 'content-type': type, 'content-length': size });
    createReadStream(path).pipe(response);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
