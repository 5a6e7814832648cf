// Debian packages that `npm start` and the end-to-end tests need. Missing ones are
// installed with apt-get when we run as root (or with password-less sudo);
// otherwise the error names the command to run.
import { spawnSync } from 'node:child_process';

function isInstalled(name: string): boolean {
  const query = spawnSync('dpkg-query', ['-W', '-f=${Status}', name], { encoding: 'utf8' });
  return query.status === 0 && query.stdout.includes('install ok installed');
}

function hasDpkg(): boolean {
  return spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status === 0;
}

function privilegePrefix(): string[] | undefined {
  if (process.getuid?.() === 0) return [];
  if (spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0) return ['sudo', '-n'];
  return undefined;
}

/**
 * Makes sure every package in `packages` is installed. `why` says what they are for,
 * in the message shown when they cannot be installed from here.
 */
export function ensureDebianPackages(packages: readonly string[], why: string): void {
  if (process.platform !== 'linux' || !hasDpkg()) {
    console.warn(`not a Debian system: make sure the equivalents of ${packages.join(', ')} are installed (${why})`);
    return;
  }
  const missing = packages.filter((name) => !isInstalled(name));
  if (missing.length === 0) return;
  const prefix = privilegePrefix();
  const command = ['apt-get', 'install', '-y', '-qq', ...missing];
  if (!prefix) {
    throw new Error(`${why} needs the Debian packages ${missing.join(', ')}: run \`sudo apt-get install ${missing.join(' ')}\``);
  }
  console.log(`installing Debian packages (${why}): ${missing.join(', ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args: string[]) => {
    const [exe, ...rest] = [...prefix, ...args];
    return spawnSync(exe!, rest, { stdio: 'inherit', env });
  };
  run(['apt-get', 'update', '-qq']);
  const install = run(command);
  if (install.status !== 0) {
    throw new Error(`apt-get install ${missing.join(' ')} failed (exit ${install.status}); install them and try again`);
  }
}
