// Synthetic pipelines for the side-by-side benchmark, written identically for
// every tool. Each stage reads its upstream outputs and one private input file
// (src/in<i>.txt, so a "leaf change" can touch a stage in the middle), appends
// its name to runs.log (how the benchmark counts executions) and writes one
// small output, out/s<i>.txt: the checksum of its inputs, so outputs stay a few
// bytes however deep the graph (concatenating inputs would double per layer).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Stage i's upstream stage indexes. */
export function shape(kind, n) {
  const ups = [];
  if (kind === 'chain') {
    for (let i = 0; i < n; i++) ups.push(i === 0 ? [] : [i - 1]);
  } else if (kind === 'fan') {
    // One source, n-2 parallel stages, one join.
    ups.push([]);
    for (let i = 1; i < n - 1; i++) ups.push([0]);
    ups.push(Array.from({ length: n - 2 }, (_, k) => k + 1));
  } else if (kind === 'lattice') {
    // Layers of `width` stages; each reads two stages of the previous layer.
    const width = n >= 1000 ? 20 : 10;
    for (let i = 0; i < n; i++) {
      const layer = Math.floor(i / width);
      const col = i % width;
      if (layer === 0) ups.push([]);
      else {
        const base = (layer - 1) * width;
        ups.push([...new Set([base + col, base + ((col + 1) % width)])]);
      }
    }
  } else throw new Error(`unknown shape ${kind}`);
  return ups;
}

/** The stage whose private input a "leaf change" edits: one in the middle. */
export function leafToChange(kind, n) {
  return kind === 'fan' ? 1 : Math.floor(n / 2);
}

/** How many stages must rerun after that change (its downstream cone, itself included). */
export function expectedRerun(ups, changed) {
  const down = new Map(ups.map((_, i) => [i, []]));
  ups.forEach((us, i) => us.forEach((u) => down.get(u).push(i)));
  const seen = new Set([changed]);
  const stack = [changed];
  while (stack.length) for (const d of down.get(stack.pop())) if (!seen.has(d)) seen.add(d), stack.push(d);
  return seen.size;
}

function command(i, us) {
  const inputs = [...us.map((u) => `out/s${u}.txt`), `src/in${i}.txt`].join(' ');
  return `echo s${i} >> runs.log; cat ${inputs} | cksum > out/s${i}.txt`;
}

function sinks(ups) {
  const used = new Set(ups.flat());
  return ups.map((_, i) => i).filter((i) => !used.has(i));
}

function writeInputs(dir, n) {
  mkdirSync(join(dir, 'src'), { recursive: true });
  mkdirSync(join(dir, 'out'), { recursive: true });
  for (let i = 0; i < n; i++) writeFileSync(join(dir, 'src', `in${i}.txt`), `input ${i}\n`);
}

export const writers = {
  mlpipe(dir, ups) {
    writeInputs(dir, ups.length);
    mkdirSync(join(dir, 'pipelines'), { recursive: true });
    const lines = ['stages:'];
    ups.forEach((us, i) => {
      lines.push(`  s${i}:`, `    cmd: ${command(i, us)}`, `    deps: [${[...us.map((u) => `out/s${u}.txt`), `src/in${i}.txt`].join(', ')}]`, `    outs: [out/s${i}.txt]`);
    });
    writeFileSync(join(dir, 'pipelines', 'bench.yaml'), `${lines.join('\n')}\n`);
  },

  make(dir, ups) {
    writeInputs(dir, ups.length);
    const lines = [`all: ${sinks(ups).map((i) => `out/s${i}.txt`).join(' ')}`, ''];
    ups.forEach((us, i) => {
      lines.push(`out/s${i}.txt: ${[...us.map((u) => `out/s${u}.txt`), `src/in${i}.txt`].join(' ')}`, `\t${command(i, us)}`, '');
    });
    writeFileSync(join(dir, 'Makefile'), lines.join('\n'));
  },

  snakemake(dir, ups) {
    writeInputs(dir, ups.length);
    const lines = ['rule all:', `    input: [${sinks(ups).map((i) => `"out/s${i}.txt"`).join(', ')}]`, ''];
    ups.forEach((us, i) => {
      lines.push(`rule s${i}:`, `    input: [${[...us.map((u) => `"out/s${u}.txt"`), `"src/in${i}.txt"`].join(', ')}]`, `    output: "out/s${i}.txt"`, `    shell: "${command(i, us)}"`, '');
    });
    writeFileSync(join(dir, 'Snakefile'), lines.join('\n'));
  },

  wireit(dir, ups) {
    writeInputs(dir, ups.length);
    const scripts = { all: 'wireit' };
    const wireit = { all: { dependencies: sinks(ups).map((i) => `s${i}`) } };
    ups.forEach((us, i) => {
      scripts[`s${i}`] = 'wireit';
      wireit[`s${i}`] = {
        command: command(i, us),
        dependencies: us.map((u) => `s${u}`),
        files: [`src/in${i}.txt`],
        output: [`out/s${i}.txt`],
      };
    });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, scripts, wireit }, null, 1));
  },

  turbo(dir, ups) {
    writeInputs(dir, ups.length);
    const scripts = {};
    // A single-package repository: tasks name the root package's scripts directly.
    const tasks = { all: { dependsOn: sinks(ups).map((i) => `s${i}`), cache: false } };
    ups.forEach((us, i) => {
      scripts[`s${i}`] = command(i, us);
      tasks[`s${i}`] = { dependsOn: us.map((u) => `s${u}`), inputs: [`src/in${i}.txt`], outputs: [`out/s${i}.txt`] };
    });
    scripts.all = 'true';
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench', private: true, packageManager: 'npm@11.0.0', scripts }, null, 1));
    writeFileSync(join(dir, 'package-lock.json'), JSON.stringify({ name: 'bench', lockfileVersion: 3, requires: true, packages: { '': { name: 'bench' } } }, null, 1));
    writeFileSync(join(dir, 'turbo.json'), JSON.stringify({ $schema: 'https://turbo.build/schema.json', tasks }, null, 1));
  },
};
