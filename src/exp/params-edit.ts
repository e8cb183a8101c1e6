// Writes `exp run --set` values into an experiment's copy of the params files,
// with the yaml library's Document API so comments, order and style survive:
// the command of every stage reads the value it is recorded with.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument } from 'yaml';
import { lookup, parseKey } from '../pipeline/params.js';
import { writeFileAtomic } from '../util/atomic-write.js';

/**
 * Sets each key in every params file (of `files`, root-relative) that has it,
 * as `run --set` would. Returns the keys that no file has.
 */
export function writeOverrides(root: string, files: readonly string[], overrides: ReadonlyMap<string, unknown>): string[] {
  const applied = new Set<string>();
  for (const file of files) {
    const abs = join(root, file);
    let text: string;
    try {
      text = readFileSync(abs, 'utf8');
    } catch {
      continue;
    }
    const doc = parseDocument(text, { keepSourceTokens: false });
    const data = doc.toJS() as unknown;
    let changed = false;
    for (const [key, value] of overrides) {
      const segments = parseKey(key);
      if (!segments || !lookup(data, segments).found) continue;
      const parent = segments.length > 1 ? doc.getIn(segments.slice(0, -1), true) : doc.contents;
      if (!isMap(parent) && !isSeq(parent)) continue;
      // A scalar keeps its node, so its comment stays; anything else replaces the value.
      const node = doc.getIn(segments, true);
      if (isScalar(node) && (value === null || typeof value !== 'object')) {
        if (typeof node.value !== typeof value) delete node.type; // a quoted "1" set to 2 is written 2
        node.value = value;
      }
      else doc.setIn(segments, doc.createNode(value));
      applied.add(key);
      changed = true;
    }
    if (changed) writeFileAtomic(abs, /\.json$/i.test(file) ? `${JSON.stringify(doc.toJS(), null, 2)}\n` : doc.toString());
  }
  return [...overrides.keys()].filter((k) => !applied.has(k));
}
