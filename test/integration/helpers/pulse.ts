// A real PulseAudio daemon of the test's own, with a null sink: a tone played into the
// sink comes back from its monitor source as a microphone would deliver it. No sound
// hardware needed. The daemon's runtime folder is private, so it touches no other.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PulseServer {
  /** Environment that points PulseAudio clients (ffmpeg, the sidecar) at this daemon. */
  env: NodeJS.ProcessEnv;
  /** The microphone to open: the null sink's monitor. */
  source: string;
  /** Plays a sine into the sink until stopped (or for `seconds`). */
  play(frequency: number, seconds?: number): ChildProcess;
  stop(): void;
}

export function startPulseAudio(sink = 'vsink'): PulseServer {
  const runtime = mkdtempSync(join(tmpdir(), 'sidestream-pulse-'));
  const env = { ...process.env, PULSE_RUNTIME_PATH: runtime, PULSE_STATE_PATH: runtime, PULSE_SERVER: `unix:${join(runtime, 'native')}` };
  const run = (command: string, args: string[]) => {
    const result = spawnSync(command, args, { env, encoding: 'utf8', timeout: 10_000 });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}): ${result.stderr || result.error?.message}`);
    return result.stdout;
  };
  // As root PulseAudio warns that it is meant for users; it runs all the same.
  run('pulseaudio', ['--daemonize=yes', '--exit-idle-time=-1', '--disallow-exit', '-n', '--load=module-native-protocol-unix', '--log-target=stderr']);
  // norewinds: a null sink that may rewind renders 200 ms ahead, and its monitor hears a
  // tone that late (measured here: 220 ms with rewinds, 55-70 ms without).
  run('pactl', ['load-module', 'module-null-sink', `sink_name=${sink}`, 'rate=48000', 'norewinds=1']);
  const players = new Set<ChildProcess>();
  return {
    env,
    source: `${sink}.monitor`,
    play(frequency, seconds) {
      const player = spawn(
        'ffmpeg',
        ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `sine=f=${frequency}:r=48000${seconds ? `:duration=${seconds}` : ''}`, '-f', 'pulse', '-device', sink, 'sidestream-test-tone'],
        { env, stdio: 'ignore' },
      );
      players.add(player);
      player.once('exit', () => players.delete(player));
      return player;
    },
    stop() {
      for (const player of players) player.kill('SIGKILL');
      spawnSync('pulseaudio', ['--kill'], { env, timeout: 10_000 });
      rmSync(runtime, { recursive: true, force: true });
    },
  };
}
