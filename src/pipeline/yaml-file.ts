// Reads a YAML (or JSON) file into a document that keeps source positions, and
// turns every way a file can be unreadable into a located diagnostic: too big,
// binary, not UTF-8, YAML syntax, duplicate keys, recursive or exploding aliases.
import { readFileSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import {
  CST,
  Lexer,
  parseDocument,
  visit,
  isAlias,
  isMap,
  isSeq,
  isScalar,
  type Document,
  type Node as YamlNode,
  type Pair,
} from 'yaml';
import { error, warning, type Diagnostic } from './diagnostic.js';
import { SourceFile, type Location } from './source.js';
import { ParseCache } from './parse-cache.js';

/** Pipeline and params files larger than this are refused before parsing. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

export interface YamlFile {
  readonly source: SourceFile;
  /** The document with source positions; built lazily for files from the parse cache. */
  readonly doc: Document.Parsed;
  /** The plain JS value of the document (null for an empty one). */
  readonly data: unknown;
}

// uniqueKeys is checked by duplicateKeys() below: the library's own check
// compares each key with every earlier one (quadratic: 20,000 stages took 2 s).
const PARSE_OPTIONS = { prettyErrors: false, uniqueKeys: false, merge: true, strict: true } as const;

/** Keys that appear twice in one mapping, in one pass with a set per mapping. */
function duplicateKeys(doc: Document.Parsed, source: SourceFile): Diagnostic[] {
  const found: Diagnostic[] = [];
  visit(doc, {
    Map(_key, map) {
      const seen = new Set<string>();
      for (const item of map.items) {
        if (!isScalar(item.key)) continue;
        const k = String(item.key.value);
        if (k === '<<') continue; // merge keys may repeat
        if (seen.has(k)) {
          const [start, end] = item.key.range ?? [0, 0];
          found.push(error('yaml-duplicate-key', 'duplicate key: each key may appear once in a mapping', source.at(start, end)));
        }
        seen.add(k);
      }
    },
  });
  return found;
}

function cachedFile(source: SourceFile, data: unknown): YamlFile {
  let doc: Document.Parsed | undefined;
  return {
    source,
    data,
    get doc() {
      return (doc ??= parseDocument(source.text, PARSE_OPTIONS));
    },
  };
}

export interface ReadResult {
  readonly file?: YamlFile;
  readonly diagnostics: Diagnostic[];
}

/**
 * Offset of the first byte that is not valid UTF-8, or -1: the well-formed
 * sequences of Unicode's table 3-7, so overlong forms, surrogates and code
 * points above U+10FFFF are caught exactly where Node's own check rejects them.
 */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) {
      n = 2;
      if (b === 0xe0) lo = 0xa0; // overlong
      if (b === 0xed) hi = 0x9f; // surrogates
    } else if (b >= 0xf0 && b <= 0xf4) {
      n = 3;
      if (b === 0xf0) lo = 0x90; // overlong
      if (b === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}

/**
 * How deeply a YAML text may nest collections (block and flow together). The
 * parser recurses per level (2,000 block levels overflow the stack) and deep
 * flow nesting costs it quadratic time; real pipelines nest under ten.
 */
export const MAX_NESTING = 100;

/**
 * How many values (scalars and collections) one file may hold: parsing with
 * positions costs ~1 KB of memory per value, and a 10,000-stage lock file
 * holds ~250,000.
 */
export const MAX_NODES = 500_000;

const CONTROL_TOKENS = new Set(['\x02', '\x18', '\x1f']); // document, flow-error-end and scalar markers: not in the text
const NOT_CONTENT = new Set(['space', 'newline', 'comment', 'comma', 'flow-seq-end', 'flow-map-end', 'doc-start', 'doc-end', 'directive-line', 'byte-order-mark']);

/**
 * Where the text first breaks a structural limit, or undefined: nesting
 * deeper than MAX_NESTING, or more than MAX_NODES values. One pass of the
 * YAML lexer (linear, no recursion), stopping at the first offence: block
 * levels from the columns where nodes start on a line (after indentation or a
 * "- " / "? " indicator), flow levels from brackets, values from scalars and
 * collection starts.
 */
export function structureLimit(text: string): { readonly at: number; readonly limit: 'depth' | 'nodes' } | undefined {
  let nodes = 0;
  const block: number[] = [];
  let flow = 0;
  let offset = 0;
  let lineStart = 0;
  let nodeStart = true;
  let inBlockScalar = false;
  for (const token of new Lexer().lex(text)) {
    if (CONTROL_TOKENS.has(token)) continue;
    const type = CST.tokenType(token);
    const at = offset;
    const col = at - lineStart;
    offset += token.length;
    const nl = token.lastIndexOf('\n');
    if (nl !== -1) lineStart = at + nl + 1;
    if (type === 'newline') {
      nodeStart = true;
      continue;
    }
    if (type === 'block-scalar-header') inBlockScalar = true;
    if (type === null && inBlockScalar) {
      inBlockScalar = false; // a block scalar's content: text, not structure
      nodeStart = false;
      continue;
    }
    if (type === 'flow-seq-end' || type === 'flow-map-end') flow = Math.max(0, flow - 1);
    if (type !== null && NOT_CONTENT.has(type)) continue;
    if (nodeStart && flow === 0) {
      while (block.length > 0 && block[block.length - 1]! >= col) block.pop();
      block.push(col);
    }
    if (type === 'flow-seq-start' || type === 'flow-map-start') flow++;
    if (block.length + flow > MAX_NESTING) return { at, limit: 'depth' };
    if (++nodes > MAX_NODES) return { at, limit: 'nodes' };
    nodeStart = type === 'seq-item-ind' || type === 'explicit-key-ind';
  }
  return undefined;
}

export function readYamlFile(absPath: string, displayPath: string, cache: ParseCache = ParseCache.none()): ReadResult {
  const empty = new SourceFile(displayPath, absPath, '');
  let bytes: Buffer;
  try {
    const st = statSync(absPath, { bigint: true });
    const hit = cache.get(absPath, st);
    if (hit) return { file: cachedFile(new SourceFile(displayPath, absPath), hit.data), diagnostics: [] };
    const size = Number(st.size);
    if (size > MAX_FILE_BYTES) {
      return {
        diagnostics: [
          error(
            'file-too-large',
            `file is ${(size / 1e6).toFixed(1)} MB; pipeline and params files are limited to ${MAX_FILE_BYTES / 1024 / 1024} MiB`,
            empty.at(0),
            { suggestion: 'keep data in files listed as deps, not in the YAML itself' },
          ),
        ],
      };
    }
    bytes = readFileSync(absPath);
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read file: ${(e as Error).message}`;
    return { diagnostics: [error('unreadable-file', reason, empty.at(0))] };
  }
  const result = parseYamlBytes(bytes, absPath, displayPath);
  if (result.file && result.diagnostics.length === 0) cache.set(absPath, result.file.data);
  return result;
}

export function parseYamlBytes(bytes: Uint8Array, absPath: string, displayPath: string): ReadResult {
  const nul = bytes.indexOf(0);
  if (!isUtf8(bytes) || nul !== -1) {
    // Node's check is the fast path; the scan finds where (the two agree on every byte sequence).
    const bad = nul !== -1 ? nul : Math.max(0, firstInvalidUtf8(bytes));
    const prefix = Buffer.from(bytes.subarray(0, Math.max(0, bad))).toString('utf8');
    const source = new SourceFile(displayPath, absPath, Buffer.from(bytes).toString('utf8'));
    const at = prefix.length;
    return {
      diagnostics: [
        nul !== -1
          ? error('binary-file', 'file looks binary (it contains a NUL byte); a pipeline is a YAML text file', source.at(at, at + 1))
          : error('encoding', `invalid UTF-8 byte 0x${bytes[bad]!.toString(16).padStart(2, '0')}; save the file as UTF-8`, source.at(at, at + 1)),
      ],
    };
  }
  let text = Buffer.from(bytes).toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return parseYamlText(new SourceFile(displayPath, absPath, text));
}

export function parseYamlText(source: SourceFile): ReadResult {
  const diagnostics: Diagnostic[] = [];
  const limit = structureLimit(source.text);
  if (limit?.limit === 'depth') {
    return {
      diagnostics: [
        error('too-deep', `the document nests deeper than ${MAX_NESTING} levels here`, source.at(limit.at, limit.at + 1), {
          suggestion: 'flatten the structure; pipeline, params, lock and registry files nest a few levels deep',
        }),
      ],
    };
  }
  if (limit?.limit === 'nodes') {
    return {
      diagnostics: [
        error('too-many-values', `the document holds more than ${MAX_NODES.toLocaleString('en')} values (this is where it passes the limit)`, source.at(limit.at, limit.at + 1), {
          suggestion: 'split it into several files, or keep data in files listed as deps rather than in the YAML',
        }),
      ],
    };
  }
  const doc = parseDocument(source.text, PARSE_OPTIONS);
  // After the first syntax error the parser is out of step and the rest are
  // echoes of it; duplicate keys and tabs are independent, so all of those count.
  let syntaxSeen = false;
  for (const e of doc.errors) {
    const independent = e.code === 'DUPLICATE_KEY' || e.code === 'TAB_AS_INDENT';
    if (!independent && syntaxSeen) continue;
    if (!independent) syntaxSeen = true;
    const line = source.lineText(source.position(e.pos[0]).line);
    const suggestion = /[[{].*\$\{/.test(line) && !independent
      ? 'inside [ ] or { }, quote strings that contain ${...}: ["models/${item.lr}/"]'
      : undefined;
    diagnostics.push(
      error(`yaml-${e.code.toLowerCase().replace(/_/g, '-')}`, yamlMessage(e.code, e.message), source.at(e.pos[0], e.pos[1]), suggestion ? { suggestion } : {}),
    );
  }
  if (!syntaxSeen) diagnostics.push(...duplicateKeys(doc, source));
  for (const w of doc.warnings) {
    diagnostics.push(warning(`yaml-${w.code.toLowerCase().replace(/_/g, '-')}`, w.message, source.at(w.pos[0], w.pos[1])));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { diagnostics };

  // An alias inside the node it refers to makes an infinite structure.
  let recursive: Diagnostic | undefined;
  visit(doc, {
    Alias(_key, alias) {
      const target = alias.resolve(doc);
      const [as] = alias.range ?? [0];
      const range = target?.range;
      if (range && as >= range[0] && as < range[2]) {
        recursive = error('recursive-alias', `alias *${alias.source} refers to a node that contains it`, source.at(as, alias.range![1]));
        return visit.BREAK;
      }
      return undefined;
    },
  });
  if (recursive) return { diagnostics: [recursive] };

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 1000 });
  } catch (e) {
    return { diagnostics: [error('yaml-aliases', 'aliases expand to too many nodes (over 1000 alias uses): simplify the anchors and aliases', source.at(0))] };
  }
  return { file: { source, doc, data }, diagnostics };
}

function yamlMessage(code: string, message: string): string {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'duplicate key: each key may appear once in a mapping';
    case 'TAB_AS_INDENT':
      return 'tab used for indentation: YAML indents with spaces';
    case 'MULTIPLE_DOCS':
      return 'the file holds several YAML documents (---); a pipeline is one document';
    default:
      if (/call stack/i.test(message)) return 'the document nests too deeply to read';
      return `YAML syntax: ${message.replace(/\s+at line \d+, column \d+:[\s\S]*$/, '').trim()}`;
  }
}

export type PathSegment = string | number;

function rangeOf(node: YamlNode | null | undefined, source: SourceFile): Location | undefined {
  if (!node?.range) return undefined;
  return source.at(node.range[0], node.range[1]);
}

function findPair(doc: Document.Parsed, map: YamlNode, key: string): Pair | undefined {
  if (!isMap(map)) return undefined;
  for (const item of map.items) {
    const k = isScalar(item.key) ? String(item.key.value) : undefined;
    if (k === key) return item;
  }
  // Keys brought in by a merge (<<: *base).
  for (const item of map.items) {
    if (isScalar(item.key) && item.key.value === '<<') {
      let v = item.value as YamlNode | null;
      if (isAlias(v)) v = v.resolve(doc) ?? null;
      const sources = isSeq(v) ? v.items : [v];
      for (let s of sources as YamlNode[]) {
        if (isAlias(s)) s = s.resolve(doc)!;
        const found = s ? findPair(doc, s, key) : undefined;
        if (found) return found;
      }
    }
  }
  return undefined;
}

/**
 * The source location of the value (or with `key`, of the key) at a path in the
 * document. Falls back to the nearest enclosing node that exists.
 */
export function locate(file: YamlFile, path: readonly PathSegment[], part: 'value' | 'key' = 'value'): Location {
  return new YamlLocation(file, path, part);
}

/**
 * A location worked out only when someone asks for it (a diagnostic is
 * shown): most never are. A class, not an object with getter closures: a
 * 10,000-stage project holds some 60,000 of them.
 */
class YamlLocation implements Location {
  private range: Location | undefined;

  constructor(
    private readonly yaml: YamlFile,
    private readonly path: readonly PathSegment[],
    private readonly part: 'value' | 'key',
  ) {}

  get file(): SourceFile {
    return this.yaml.source;
  }

  get start(): number {
    return (this.range ??= resolveLocation(this.yaml, this.path, this.part)).start;
  }

  get end(): number {
    return (this.range ??= resolveLocation(this.yaml, this.path, this.part)).end;
  }
}

function resolveLocation(file: YamlFile, path: readonly PathSegment[], part: 'value' | 'key'): Location {
  const { doc, source } = file;
  let node: YamlNode | null | undefined = doc.contents as YamlNode | null;
  let best = rangeOf(node, source) ?? source.at(0);
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = findPair(doc, node, String(seg));
      if (!pair) return best;
      if (last && part === 'key') return rangeOf(pair.key as YamlNode, source) ?? best;
      node = pair.value as YamlNode | null;
      // A key with no value (`deps:`) points at its key.
      best = rangeOf(node, source) ?? rangeOf(pair.key as YamlNode, source) ?? best;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg] as YamlNode | null;
      best = rangeOf(node, source) ?? best;
    } else {
      return best;
    }
  }
  return best;
}
