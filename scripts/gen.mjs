// Generates TypeScript from proto/ with buf + ts-proto; `--check` fails when the
// committed proto/gen/ differs from what the .proto files generate today.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const buf = join(root, 'node_modules', '.bin', 'buf');
const generatedDir = join(root, 'proto', 'gen');
const check = process.argv.includes('--check');

function run(args) {
  const result = spawnSync(buf, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`buf ${args.join(' ')} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}

function listFiles(dir) {
  const files = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...listFiles(path));
    else files.push(path);
  }
  return files;
}

run(['lint']);
if (!check) {
  rmSync(generatedDir, { recursive: true, force: true });
  run(['generate']);
  console.log(`generated ${listFiles(generatedDir).length} files in proto/gen`);
} else {
  const scratch = mkdtempSync(join(tmpdir(), 'sidestream-gen-'));
  try {
    run(['generate', '--output', scratch]);
    const fresh = join(scratch, 'proto', 'gen');
    const want = listFiles(fresh).map((f) => relative(fresh, f)).sort();
    const have = listFiles(generatedDir).map((f) => relative(generatedDir, f)).sort();
    const stale = [
      ...want.filter((f) => !have.includes(f) || !readFileSync(join(fresh, f)).equals(readFileSync(join(generatedDir, f)))),
      ...have.filter((f) => !want.includes(f)),
    ];
    if (stale.length > 0) {
      console.error(`proto/gen is stale (${stale.join(', ')}): run \`npm run gen\` and commit the result.`);
      process.exit(1);
    }
    console.log(`proto/gen is current (${want.length} files)`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
