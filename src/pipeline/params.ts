// Parameter files (YAML or JSON): loading them once per analysis, and looking
// up dotted keys with list indexes ("train.layers[0].units") in them.
import { join } from 'node:path';
import type { Diagnostic } from './diagnostic.js';
import { readYamlFile, type YamlFile } from './yaml-file.js';
import { ParseCache } from './parse-cache.js';

export type KeySegment = string | number;

const SEGMENT = /([^.[\]\s]+)|\[(\d+)\]/y;

/** Parses "a.b[0].c" into ["a", "b", 0, "c"]; undefined when malformed. */
export function parseKey(key: string): KeySegment[] | undefined {
  const out: KeySegment[] = [];
  let i = 0;
  while (i < key.length) {
    if (out.length > 0 && key[i] === '.') i++;
    SEGMENT.lastIndex = i;
    const m = SEGMENT.exec(key);
    if (!m) return undefined;
    out.push(m[1] !== undefined ? m[1] : Number(m[2]));
    i = SEGMENT.lastIndex;
  }
  return out.length > 0 && typeof out[0] === 'string' ? out : undefined;
}

export function formatKey(segments: readonly KeySegment[]): string {
  let s = '';
  for (const seg of segments) s += typeof seg === 'number' ? `[${seg}]` : s === '' ? seg : `.${seg}`;
  return s;
}

export type Lookup =
  | { readonly found: true; readonly value: unknown }
  | { readonly found: false; readonly depth: number; readonly container: unknown };

/** Walks segments into a plain value; on failure says how far it got. */
export function lookup(data: unknown, segments: readonly KeySegment[]): Lookup {
  let current = data;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (typeof seg === 'number' ? Array.isArray(current) && seg < current.length : isRecord(current) && Object.hasOwn(current, seg)) {
      current = (current as Record<string | number, unknown>)[seg];
    } else {
      return { found: false, depth: i, container: current };
    }
  }
  return { found: true, value: current };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Every dotted key of a value, for suggestions; bounded for huge files. */
export function flattenKeys(data: unknown, prefix = '', out: string[] = [], limit = 2000): string[] {
  if (!isRecord(data)) return out;
  for (const [k, v] of Object.entries(data)) {
    if (out.length >= limit) break;
    const key = prefix === '' ? k : `${prefix}.${k}`;
    out.push(key);
    flattenKeys(v, key, out, limit);
  }
  return out;
}

/** Loads each params file once per analysis, however many pipelines name it. */
export class ParamsFiles {
  private readonly files = new Map<string, { file?: YamlFile; diagnostics: Diagnostic[] }>();
  private readonly applied = new Set<string>();

  /** `overrides` (from --set) replace the values of existing keys in every file that has them. */
  constructor(
    private readonly root: string,
    private readonly overrides: ReadonlyMap<string, unknown> = new Map(),
    private readonly cache: ParseCache = ParseCache.none(),
  ) {}

  load(path: string): { file?: YamlFile; diagnostics: Diagnostic[] } {
    let entry = this.files.get(path);
    if (!entry) {
      entry = readYamlFile(join(this.root, path), path, this.cache);
      if (entry.file && this.overrides.size > 0 && isRecord(entry.file.data)) {
        const data = structuredClone(entry.file.data);
        for (const [key, value] of this.overrides) {
          const segments = parseKey(key);
          if (!segments || !lookup(data, segments).found) continue;
          const parent = lookup(data, segments.slice(0, -1));
          if (!parent.found) continue;
          (parent.value as Record<string | number, unknown>)[segments[segments.length - 1]!] = value;
          this.applied.add(key);
        }
        entry = { ...entry, file: { ...entry.file, data } };
      }
      this.files.set(path, entry);
    }
    return entry;
  }

  /** --set keys that no loaded params file has, with every key that exists, for suggestions. */
  unusedOverrides(): { key: string; known: string[] }[] {
    const known = [...this.files.values()].flatMap((e) => flattenKeys(e.file?.data));
    return [...this.overrides.keys()].filter((k) => !this.applied.has(k)).map((key) => ({ key, known }));
  }

  /** The params files read so far, for watch mode and the graph. */
  paths(): string[] {
    return [...this.files.keys()];
  }
}

/** The params files of one pipeline, later files overriding earlier ones key by key. */
export class ParamContext {
  constructor(readonly files: ReadonlyArray<{ readonly path: string; readonly data: unknown }>) {}

  /** The value of a key and the file it comes from (the last file that has it). */
  get(segments: readonly KeySegment[]): { value: unknown; file: string } | undefined {
    for (let i = this.files.length - 1; i >= 0; i--) {
      const f = this.files[i]!;
      const r = lookup(f.data, segments);
      if (r.found) return { value: r.value, file: f.path };
    }
    return undefined;
  }

  hasTopLevel(name: string): boolean {
    return this.files.some((f) => isRecord(f.data) && Object.hasOwn(f.data, name));
  }

  keys(): string[] {
    return [...new Set(this.files.flatMap((f) => flattenKeys(f.data)))];
  }
}
