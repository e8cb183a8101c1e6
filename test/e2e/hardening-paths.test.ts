// Issue 13, files outside the project: crafted lock files, symbolic links made
// during a run, registry names and files. Each case is an attack that touched
// files outside the project (or crashed) before its fix.
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorLines, Rig } from '../rig.js';

let rig: Rig;
/** A directory beside the project, standing for everything outside it. */
let outside: string;

beforeEach(() => {
  rig = new Rig();
  outside = join(dirname(rig.dir), `${basename(rig.dir)}-outside`);
  mkdirSync(outside);
  writeFileSync(join(outside, 'victim.txt'), 'precious\n');
});
afterEach(() => {
  rig.cleanup();
  rmSync(outside, { recursive: true, force: true });
});

const outsideIntact = () => {
  expect(readFileSync(join(outside, 'victim.txt'), 'utf8')).toBe('precious\n');
};

describe('a crafted lock file', () => {
  const pipeline = {
    'pipelines/p.yaml': `stages:
  make:
    cmd: mkdir -p out && echo hi > out/f.txt
    outs: [out/]
`,
  };

  it('naming a path outside the project is a located error in validate, checkout, run and status; nothing outside is touched', () => {
    rig.write(pipeline);
    expect(rig.run(['run']).code).toBe(0);
    const rel = `../${basename(outside)}`;
    writeFileSync(join(rig.dir, 'pipelines/p.lock'), rig.read('pipelines/p.lock').replace(/^ {6}out:$/m, `      ${rel}:`));
    for (const cmd of [['validate'], ['checkout'], ['run'], ['status'], ['run', '--force']]) {
      const r = rig.run(cmd);
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(errorLines(r.stderr)[0]).toMatch(/^pipelines\/p\.lock:\d+:7: error: invalid path "\.\.\/.*-outside"/);
      expect(r.stderr).toContain('suggestion:');
      outsideIntact();
      expect(existsSync(join(outside, 'f.txt'))).toBe(false);
    }
  });

  it('naming a path inside the project that the stage does not declare never restores over it', () => {
    rig.write({ ...pipeline, 'notes.txt': 'mine\n' });
    expect(rig.run(['run']).code).toBe(0);
    // A file entry with the hash of out/f.txt's content would overwrite notes.txt if trusted.
    const lock = rig.read('pipelines/p.lock').replace(/^ {6}out:$/m, '      notes.txt:');
    writeFileSync(join(rig.dir, 'pipelines/p.lock'), lock);
    expect(rig.run(['validate']).code).toBe(0); // a well-formed path: only its use is refused
    const c = rig.run(['checkout']);
    expect(c.code).toBe(0);
    expect(rig.read('notes.txt')).toBe('mine\n');
    const r = rig.runJson();
    expect(r.code).toBe(0);
    expect(r.outcomes['p:make']).toBe('ran');
    expect(r.events.find((e) => e.type === 'stage-finished')?.reasons).toEqual([{ kind: 'outs', message: 'the lock entry records other outputs than the stage declares' }]);
    expect(rig.read('notes.txt')).toBe('mine\n');
  });
});

describe('symbolic links made during a run', () => {
  it('a later stage never deletes or writes through a link to outside the project', () => {
    rig.write({
      'pipelines/p.yaml': `stages:
  link:
    cmd: ln -sfn ${JSON.stringify(outside)} made && touch linked
    outs: [linked]
  write:
    cmd: echo hacked > made/victim.txt
    deps: [linked]
    outs: [made/victim.txt]
`,
    });
    const r = rig.runJson();
    expect(r.code).toBe(1);
    expect(r.outcomes['p:write']).toBe('failed');
    const failed = r.events.find((e) => e.type === 'stage-finished' && e.stage === 'p:write');
    expect(failed?.message).toMatch(/could not prepare outputs: made\/victim\.txt: its directory leads outside the project .* refused/);
    outsideIntact();
  });

  it('a restore from the cache never writes through a link to outside the project', () => {
    const pipeline = (first: string) => ({
      'pipelines/p.yaml': `stages:
  first:
    cmd: ${first}
    outs: [linked]
  make:
    cmd: mkdir -p made && echo result > made/victim.txt
    deps: [linked]
    outs: [made/victim.txt]
`,
    });
    rig.write(pipeline('touch linked'));
    expect(rig.run(['run']).code).toBe(0);
    rmSync(join(rig.dir, 'made'), { recursive: true });
    // Now the first stage makes the link during the run; the second's key is unchanged, so it is restored.
    rig.write(pipeline(`ln -sfn ${JSON.stringify(outside)} made && touch linked`));
    const r = rig.runJson();
    expect(r.code).toBe(1);
    expect(r.outcomes['p:make']).toBe('failed');
    const failed = r.events.find((e) => e.type === 'stage-finished' && e.stage === 'p:make');
    expect(failed?.message).toMatch(/could not restore outputs: made\/victim\.txt: its directory leads outside the project/);
    outsideIntact();
    // A link already there when the command starts is caught by validation, at its position.
    const c = rig.run(['checkout']);
    expect(c.code).toBe(2);
    expect(errorLines(c.stderr)[0]).toMatch(/^pipelines\/p\.yaml:\d+:\d+: error: .*made\/victim\.txt/);
    outsideIntact();
  });

  it('an output that is a link to outside the project is refused, not read into the cache', () => {
    rig.write({
      'pipelines/p.yaml': `stages:
  make:
    cmd: ln -sfn ${JSON.stringify(outside)} out
    outs: [out]
`,
    });
    const r = rig.runJson();
    expect(r.code).toBe(1);
    const failed = r.events.find((e) => e.type === 'stage-finished' && e.stage === 'p:make');
    expect(failed?.message).toMatch(/output out leads outside the project .* refused/);
    outsideIntact();
  });
});

describe('registry names and files', () => {
  const registry = (name: string, versions: string) => `name: ${name}\naliases: {}\nversions:\n${versions}`;
  const version = `  - version: 1
    hash: 0123456789abcdef0123456789abcdef
    registered_at: 2026-11-28T00:00:00.000Z
    source: models/m
`;

  it('every models command and serve refuse a name that is not a model name, reading nothing', () => {
    rig.write({ 'secret.yaml': registry('"../secret"', version), 'registry/m.yaml': registry('m', version) });
    for (const args of [['models', 'list', '../secret'], ['models', 'show', '../secret'], ['models', 'promote', '../secret', 'production'], ['models', 'retire', '../secret', '--reason', 'x'], ['serve', '../secret']]) {
      const r = rig.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout, args.join(' ')).not.toContain('secret');
      expect(r.stderr, args.join(' ')).toMatch(/"\.\.\/secret" is (not a model name|neither a model directory)|is not a model reference/);
    }
    expect(rig.run(['models', 'list', 'm']).code).toBe(0);
  });

  it('a registry file missing fields is a located error in models, serve and validate, not an internal error', () => {
    rig.write({ 'registry/m.yaml': registry('m', '  - version: 1\n    hash: 0123456789abcdef0123456789abcdef\n') });
    for (const args of [['models', 'list'], ['models', 'show', 'm:1'], ['serve', 'm'], ['validate']]) {
      const r = rig.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(errorLines(r.stderr)[0], args.join(' ')).toMatch(/^registry\/m\.yaml:4:5: error: missing required field "(registered_at|source)" in "versions\[0\]"/);
      expect(r.stderr).not.toMatch(/internal error|TypeError|at .*\.js:\d+/);
    }
  });

  it('a registry path outside the project is a located error', () => {
    rig.write({ 'registry/m.yaml': registry('m', version.replace('models/m', '../outside')) });
    const r = rig.run(['serve', 'm']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^registry\/m\.yaml:7:13: error: "versions\[0\]\.source" is "\.\.\/outside"; expected a path relative to the project root/);
  });
});

describe('built-in action inputs', () => {
  it('a path that climbs out of a declared output directory is a located error', () => {
    rig.write({
      'data.csv': 'a,b\n1,x\n2,y\n',
      'pipelines/p.yaml': `stages:
  split:
    uses: mlpipe/split
    with: { data: data.csv, out: models/../../escaped, label: b }
    deps: [data.csv]
    outs: [models/]
`,
    });
    const r = rig.run(['run']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^pipelines\/p\.yaml:4:34: error: with\.out "models\/\.\.\/\.\.\/escaped" is outside the project root/);
    expect(existsSync(join(dirname(rig.dir), 'escaped'))).toBe(false);
  });
});

describe('state written beside committed files', () => {
  it('a pipelines/ directory that is a link out of the project gets no lock file written through it', () => {
    rig.write({});
    rmSync(join(rig.dir, 'pipelines'), { recursive: true });
    mkdirSync(join(outside, 'pipes'));
    writeFileSync(join(outside, 'pipes', 'p.yaml'), 'stages:\n  s:\n    cmd: echo hi > out.txt\n    outs: [out.txt]\n');
    symlinkSync(join(outside, 'pipes'), join(rig.dir, 'pipelines'));
    const r = rig.run(['run']);
    expect(r.code).toBe(2);
    expect(errorLines(r.stderr)[0]).toMatch(/^pipelines\/p\.yaml:1:1: error: the lock file pipelines\/p\.lock: its directory leads outside the project/);
    expect(existsSync(join(outside, 'pipes', 'p.lock'))).toBe(false);
  });

  it('a registry/ directory that is a link out of the project is never written through', () => {
    const text = 'name: m\naliases: {}\nversions:\n  - version: 1\n    hash: 0123456789abcdef0123456789abcdef\n    registered_at: 2026-11-28T00:00:00.000Z\n    source: models/m\n';
    mkdirSync(join(outside, 'reg'));
    writeFileSync(join(outside, 'reg', 'm.yaml'), text);
    symlinkSync(join(outside, 'reg'), join(rig.dir, 'registry'));
    const r = rig.run(['models', 'promote', 'm:1', 'production']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error: the registry file registry\/m\.yaml: its directory leads outside the project/);
    expect(readFileSync(join(outside, 'reg', 'm.yaml'), 'utf8')).toBe(text);
  });
});
