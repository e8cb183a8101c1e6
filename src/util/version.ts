// Versions of mlpipe itself and of installed packages, for records and
// metadata. Works from the sources, dist/ and the bundle's chunks alike (each
// sits at a different depth below package.json).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let own: string | undefined;

export function mlpipeVersion(): string {
  if (own) return own;
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'mlpipe') return (own = pkg.version);
    } catch {
      // not here: look further up
    }
    if (dirname(dir) === dir) return (own = 'unknown');
  }
}

/** An installed package's version, or "unknown". */
export function packageVersion(name: string): string {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
