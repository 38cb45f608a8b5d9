/**
 * Builds the browser apps (agent workbench apps/web, chat widget apps/widget) with Vite, but only when
 * their sources changed since the last build: `npm start` and `npm test` both call this, and a rebuild of
 * the workbench takes tens of seconds on a small machine. The fingerprint of every input file is kept in
 * `dist/.build-hash` of each app.
 *
 *   node --import tsx scripts/build-ui.ts [--force]
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';

const root = join(import.meta.dirname, '..');
const force = process.argv.includes('--force');

/** Inputs shared by both apps: the client core, the contracts and the installed dependency versions. */
const shared = ['packages/client/src', 'packages/contracts/src', 'package-lock.json'];
const apps = [
  { name: 'widget', dir: 'apps/widget', inputs: ['src', 'vite.config.ts', 'package.json'], output: 'widget.js' },
  { name: 'web', dir: 'apps/web', inputs: ['src', 'index.html', 'vite.config.ts', 'package.json', 'public'], output: 'index.html' },
];

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => files(join(path, name)));
}

function fingerprint(inputs: string[]): string {
  const hash = createHash('sha256');
  for (const file of inputs.flatMap(files)) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

for (const app of apps) {
  const dir = join(root, app.dir);
  const stampFile = join(dir, 'dist', '.build-hash');
  const hash = fingerprint([...app.inputs.map((p) => join(dir, p)), ...shared.map((p) => join(root, p))]);
  const upToDate = !force && existsSync(join(dir, 'dist', app.output)) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === hash;
  if (upToDate) continue;
  const started = Date.now();
  console.log(`building ${app.name} (${app.dir})…`);
  await build({ configFile: join(dir, 'vite.config.ts'), logLevel: 'warn' });
  writeFileSync(stampFile, hash);
  const extra = app.name === 'widget' ? `, widget.js ${(gzipSync(readFileSync(join(dir, 'dist', 'widget.js'))).length / 1024).toFixed(1)} KB gzipped` : '';
  console.log(`built ${app.name} in ${((Date.now() - started) / 1000).toFixed(1)} s${extra}`);
}
