#!/usr/bin/env node
// The mlpipe executable. Answers --version without loading the CLI (startup
// speed matters: people run mlpipe on every save), otherwise hands over to it.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  process.stdout.write(`${pkg.version}\n`);
} else {
  try {
    const { main } = await import('../dist/bundle/main.js');
    process.exitCode = await main(args);
  } catch (e) {
    // A bug, not bad input: say so briefly; MLPIPE_DEBUG=1 shows the stack.
    process.stderr.write(`mlpipe: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
    if (process.env.MLPIPE_DEBUG) process.stderr.write(`${e instanceof Error ? e.stack : ''}\n`);
    else process.stderr.write('(set MLPIPE_DEBUG=1 for details, and please report it)\n');
    process.exitCode = 1;
  }
}
