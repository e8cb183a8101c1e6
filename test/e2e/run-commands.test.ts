// How stage commands are started, through the CLI: with the helper shell (the
// default where `setsid` exists) and with MLPIPE_SPAWN=node, the same
// commands give the same outputs, logs, environment and exit codes —
// multi-line commands, quotes, environment values with newlines, and stage
// output streamed to the reporter.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, Rig } from '../rig.js';

const PIPELINE = `stages:
  quoting:
    cmd: |
      printf '%s|%s\\n' "it's" "$GREETING" > out.txt
      echo "line with \\"double\\" and 'single' quotes" >> out.txt
      echo "$MLPIPE_STAGE" >> out.txt
      pwd >> out.txt
      echo visible-output
    env:
      GREETING: "hello 'world'\\nsecond line; $(not run)"
    outs: [out.txt]
  sub:
    cmd: [pwd > here.txt, "exit 0"]
    wdir: sub
    outs: [sub/here.txt]
  fails:
    cmd: echo before-failure; exit 7
    needs: [quoting]
`;

describe.each(['helper', 'node'])('commands started by %s', (mode) => {
  it('runs multi-line commands with quotes, env values, working directories and exit codes', () => {
    const rig = new Rig();
    try {
      rig.write({ 'pipelines/p.yaml': PIPELINE, 'sub/.keep': '' });
      const r = rig.run(['run', '--keep-going'], { env: { MLPIPE_SPAWN: mode } });
      expect(r.code).toBe(1);
      expect(rig.read('out.txt')).toBe(`it's|hello 'world'\nsecond line; $(not run)\nline with "double" and 'single' quotes\np:quoting\n${rig.dir}\n`);
      expect(rig.read('sub/here.txt')).toBe(`${rig.dir}/sub\n`);
      expect(r.stdout).toContain('[p:quoting] visible-output');
      expect(r.stderr).toContain('✗ p:fails failed: exit code 7');
      expect(r.stderr).toContain('│ before-failure');
      const log = r.stderr.match(/full log: (\S+)/)![1]!;
      expect(rig.read(log)).toBe('before-failure\n');
    } finally {
      rig.cleanup();
    }
  });
});

describe.each(['helper', 'node'])('live output (%s)', (mode) => {
  it("streams a running stage's output before it finishes", async () => {
    const rig = new Rig();
    try {
      // The stage waits (up to 10 s) for a file the test writes when the
      // stage's first line arrives as an event: it only succeeds if output is
      // streamed while it runs.
      rig.write({
        'pipelines/p.yaml': `stages:
  slow:
    cmd: echo first-line; for i in $(seq 200); do [ -f go ] && break; sleep 0.05; done; [ -f go ] && echo streamed > out.txt
    outs: [out.txt]
`,
      });
      const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', MLPIPE_SPAWN: mode };
      const child = spawn(process.execPath, [BIN, 'run', '--json'], { cwd: rig.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        if (stdout.includes('"line":"first-line"')) writeFileSync(join(rig.dir, 'go'), '');
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(0);
      expect(rig.read('out.txt')).toBe('streamed\n');
    } finally {
      rig.cleanup();
    }
  });
});
