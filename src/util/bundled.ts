// Where this installation's bundled entry points are (dist/bundle/NAME.js):
// scripts started as their own process or thread (the action runner, the
// serve parse worker). The module asking may itself sit in a chunk below it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const found = new Map<string, string>();

export function bundledScript(name: string): string {
  const known = found.get(name);
  if (known) return known;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const candidate = join(dir, 'dist', 'bundle', `${name}.js`);
    if (existsSync(candidate)) {
      found.set(name, candidate);
      return candidate;
    }
    if (dirname(dir) === dir) throw new Error(`cannot find dist/bundle/${name}.js: is mlpipe built?`);
  }
}
