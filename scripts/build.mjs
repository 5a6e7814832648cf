// One esbuild build for the three programs: the extension (cjs, `vscode` external),
// the sidecar (node) and the webview (browser). `--watch` rebuilds on change.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'info',
  define: { SIDESTREAM_VERSION: JSON.stringify(version) },
};

const builds = [
  {
    ...common,
    entryPoints: { extension: 'extension/main.ts' },
    outdir: 'dist',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: { sidecar: 'sidecar/main.ts' },
    outdir: 'dist',
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // ffmpeg-static is optional and holds a binary: resolve it at run time, never bundle it.
    external: ['ffmpeg-static', 'ffprobe-static'],
  },
  {
    ...common,
    entryPoints: { webview: 'webview/main.ts' },
    outdir: 'dist',
    platform: 'browser',
    target: 'es2022',
    format: 'esm',
  },
  {
    ...common,
    entryPoints: { webview: 'webview/panel.css' },
    outdir: 'dist',
    sourcemap: false,
  },
];

// The activity bar icon of the Sidestream view container.
mkdirSync(new URL('../dist/', import.meta.url), { recursive: true });
copyFileSync(new URL('../extension/sidestream.svg', import.meta.url), new URL('../dist/sidestream.svg', import.meta.url));

if (watch) {
  for (const options of builds) await (await esbuild.context(options)).watch();
} else {
  await Promise.all(builds.map((options) => esbuild.build(options)));
}
