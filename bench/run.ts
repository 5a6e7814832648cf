// `npm run bench -- --suite NAME [--json]`: runs benchmark suites and prints their
// figures. Targets are reported next to the figures, never asserted.
import { parseArgs } from 'node:util';
import { filesSuite } from './suites/files';
import { mediaSuite } from './suites/media';
import { previewSuite } from './suites/preview';
import { recordingSuite } from './suites/recording';
import { startupSuite } from './suites/startup';
import { webrtcSuite } from './suites/webrtc';

export interface BenchSuite {
  name: string;
  description: string;
  run(): Promise<Record<string, unknown>>;
}

const suites: BenchSuite[] = [startupSuite, filesSuite, mediaSuite, recordingSuite, previewSuite, webrtcSuite];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { suite: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, help: { type: 'boolean', default: false } },
  });
  if (values.help) {
    console.log(`Usage: npm run bench -- [--suite NAME]... [--json]\n\nSuites:\n${suites.map((s) => `  ${s.name.padEnd(10)} ${s.description}`).join('\n')}`);
    return;
  }
  const chosen = values.suite ?? suites.map((s) => s.name);
  const unknown = chosen.filter((name) => !suites.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown suite ${unknown.join(', ')}; known: ${suites.map((s) => s.name).join(', ')}`);

  for (const suite of suites.filter((s) => chosen.includes(s.name))) {
    if (!values.json) console.error(`running ${suite.name}: ${suite.description}`);
    const figures = await suite.run();
    const result = { suite: suite.name, ...figures, machine: { node: process.version, cpus: (await import('node:os')).cpus().length } };
    console.log(values.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
