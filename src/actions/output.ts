// Writing an action's output files: parent directories made, whole contents
// written. (The engine stores outputs in the cache after the action exits.)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function writeOutput(file: string, data: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
}
