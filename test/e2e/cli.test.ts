// The command line itself: version, help on every command, global options in
// any position, -C, project discovery, exit codes, init, colour and GitHub
// Actions annotations.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO, Rig, runCli } from '../rig.js';

let rig: Rig;
afterEach(() => rig?.cleanup());

const valid = { 'data/in.csv': 'x\n', 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    deps: [data/in.csv]\n    outs: [out.txt]\n  b:\n    cmd: echo\n    deps: [out.txt]\n' };

describe('cli', () => {
  it('--version prints the package version', () => {
    const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
    for (const flag of ['--version', '-V']) {
      const r = runCli([flag], { cwd: REPO });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${version}\n`);
    }
  });

  it('--help works on every command', () => {
    for (const cmd of [[], ['init'], ['validate'], ['dag']]) {
      const r = runCli([...cmd, '--help'], { cwd: REPO });
      expect(r.code, cmd.join(' ')).toBe(0);
      expect(r.stdout).toContain('Usage: mlpipe');
    }
    expect(runCli(['--help'], { cwd: REPO }).stdout).toMatch(/validate[\s\S]*dag/);
  });

  it('an unknown command or option is a usage error (exit 2)', () => {
    expect(runCli(['frobnicate'], { cwd: REPO }).code).toBe(2);
    expect(runCli(['validate', '--frob'], { cwd: REPO }).code).toBe(2);
    expect(runCli(['dag', '--format', 'png'], { cwd: REPO }).code).toBe(2);
    expect(runCli(['--reporter', 'fancy', 'validate'], { cwd: REPO }).code).toBe(2);
  });

  it('no command prints help and exits 2', () => {
    const r = runCli([], { cwd: REPO });
    expect(r.code).toBe(2);
  });

  it('-C and --json work before or after the command', () => {
    rig = new Rig().write(valid);
    for (const args of [['-C', rig.dir, 'validate', '--json'], ['validate', '-C', rig.dir, '--json'], ['--json', 'validate', '-C', rig.dir]]) {
      const r = runCli(args, { cwd: REPO === rig.dir ? '/' : '/tmp' });
      expect(r.code, `${args.join(' ')}\n${r.stderr}`).toBe(0);
      const doc = JSON.parse(r.stdout);
      expect(doc.ok).toBe(true);
      expect(doc.pipelines[0].stages).toEqual(['p:a', 'p:b']);
    }
  });

  it('finds the project root from a subdirectory', () => {
    rig = new Rig().write({ ...valid, 'src/deep/file.txt': '' });
    const r = rig.run(['validate'], { cwd: join(rig.dir, 'src', 'deep') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('1 pipeline, 2 stages: valid');
  });

  it('outside any project it says so and exits 2', () => {
    rig = new Rig();
    const r = runCli(['validate'], { cwd: '/' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no mlpipe project here');
  });

  it('init creates .mlpipe/ and pipelines/ and ignores .mlpipe/ in git, once', () => {
    rig = new Rig();
    rig.write({ '.gitignore': 'node_modules/' });
    const first = rig.run(['init']);
    expect(first.code).toBe(0);
    expect(existsSync(join(rig.dir, '.mlpipe'))).toBe(true);
    expect(readFileSync(join(rig.dir, '.gitignore'), 'utf8')).toBe('node_modules/\n# mlpipe local state: cache, stat index, run records, logs\n/.mlpipe/\n');
    const second = rig.run(['init']);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('already initialized');
    expect(readFileSync(join(rig.dir, '.gitignore'), 'utf8').match(/\/\.mlpipe\//g)).toHaveLength(1);
  });

  it('validate FILE checks that file in the context of the project', () => {
    rig = new Rig().write({
      ...valid,
      'pipelines/other.yaml': 'stages:\n  c:\n    cmd: echo\n    dep: [x]\n',
      'drafts/new.yaml': 'stages:\n  d:\n    cmd: echo\n    deps: [out.txt]\n',
    });
    const ok = rig.run(['validate', 'drafts/new.yaml']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toContain('other files of the project have errors (pipelines/other.yaml)');
    const bad = rig.run(['validate', 'pipelines/other.yaml']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('pipelines/other.yaml:4:5: error: unknown field "dep"');
  });

  it('--json prints diagnostics as data on stdout and nothing else', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    dep: [x]\n' });
    const r = rig.run(['validate', '--json']);
    expect(r.code).toBe(2);
    const doc = JSON.parse(r.stdout);
    expect(doc.ok).toBe(false);
    expect(doc.diagnostics[0]).toMatchObject({ severity: 'error', code: 'unknown-field', location: { file: 'pipelines/p.yaml', line: 4, col: 5 } });
  });

  it('in GitHub Actions each diagnostic is also an ::error annotation', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    dep: [x]\n' });
    const r = rig.run(['validate'], { env: { GITHUB_ACTIONS: 'true' } });
    expect(r.stderr).toContain('::error file=pipelines/p.yaml,line=4,col=5,endColumn=8,title=mlpipe unknown-field::unknown field "dep" in stage "a" — did you mean "deps"?');
    expect(rig.run(['validate']).stderr).not.toContain('::error');
  });

  it('colour only when asked for, never with NO_COLOR', () => {
    rig = new Rig().write({ 'pipelines/p.yaml': 'stages:\n  a:\n    cmd: echo\n    dep: [x]\n' });
    expect(rig.run(['validate']).stderr).not.toContain('\u001b[');
    expect(rig.run(['validate'], { env: { FORCE_COLOR: '1' } }).stderr).toContain('\u001b[');
  });
});
