import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, type Interceptor, Metadata } from '@grpc/grpc-js';
import { HealthClient } from '../../proto/gen/grpc/health/v1/health';
import { bearerTokenInterceptor } from '../../extension/client';
import type { BenchSuite } from '../run';
import { withMallocTuning } from '../../sidecar/mallocTuning';
import { median, percentile, round } from '../stats';

const root = join(__dirname, '..', '..');
const sidecarScript = join(root, 'dist', 'sidecar.js');

interface Started {
  child: ChildProcess;
  address: string;
  readyMs: number;
}

function startProcess(args: string[], env: NodeJS.ProcessEnv): Promise<Started> {
  const begin = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env, stdio: ['pipe', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code} before its handshake`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const readyMs = Number(process.hrtime.bigint() - begin) / 1e6;
      child.removeAllListeners('exit');
      resolve({ child, address: (JSON.parse(line) as { address: string }).address, readyMs });
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

function healthClient(address: string, interceptors: Interceptor[]): HealthClient {
  return new HealthClient(address, credentials.createInsecure(), { interceptors });
}

function check(client: HealthClient): Promise<void> {
  return new Promise((resolve, reject) => client.check({ service: '' }, new Metadata(), (error) => (error ? reject(error) : resolve())));
}

/** Sequential unary calls; returns each round trip in µs. */
async function roundTrips(client: HealthClient, count: number): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const begin = process.hrtime.bigint();
    await check(client);
    samples.push(Number(process.hrtime.bigint() - begin) / 1e3);
  }
  return samples;
}

export const startupSuite: BenchSuite = {
  name: 'startup',
  description: 'sidecar spawn → handshake, and unary RTT through the real sidecar vs a bare grpc-js server',
  async run() {
    if (!existsSync(sidecarScript)) throw new Error(`${sidecarScript} is missing: run \`npm run build\` first`);
    const token = randomBytes(32).toString('base64url');
    const env = withMallocTuning({ ...process.env, SIDESTREAM_TOKEN: token });

    const readyTimes: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = await startProcess([sidecarScript], env);
      readyTimes.push(started.readyMs);
      await stop(started.child);
    }

    const sidecar = await startProcess([sidecarScript], env);
    const bare = await startProcess(['--import', 'tsx', join(root, 'bench', 'bare-health-server.ts')], process.env);
    const viaSidecar = healthClient(sidecar.address, [bearerTokenInterceptor(token)]);
    const viaBare = healthClient(bare.address, []);
    try {
      await roundTrips(viaSidecar, 300);
      await roundTrips(viaBare, 300);
      // Interleaved rounds, so that a slow moment of the machine hits both alike.
      const sidecarSamples: number[] = [];
      const bareSamples: number[] = [];
      for (let round = 0; round < 10; round++) {
        sidecarSamples.push(...(await roundTrips(viaSidecar, 300)));
        bareSamples.push(...(await roundTrips(viaBare, 300)));
      }
      const healthRtt = median(sidecarSamples);
      const bareRtt = median(bareSamples);
      return {
        sidecar_ready_ms: round(median(readyTimes)),
        sidecar_ready_ms_max: round(Math.max(...readyTimes)),
        health_rtt_us: round(healthRtt),
        health_rtt_p99_us: round(percentile(sidecarSamples, 99)),
        bare_rtt_us: round(bareRtt),
        bare_rtt_p99_us: round(percentile(bareSamples, 99)),
        rtt_overhead: round(healthRtt / bareRtt, 3),
        samples: { ready: readyTimes.length, rtt: sidecarSamples.length },
        targets: { sidecar_ready_ms: '<= 300', rtt_overhead: '<= 1.15' },
      };
    } finally {
      viaSidecar.close();
      viaBare.close();
      bare.child.stdin!.end();
      await Promise.all([stop(sidecar.child), stop(bare.child)]);
    }
  },
};
