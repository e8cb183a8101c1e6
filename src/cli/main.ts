// Command-line entry: parses global options and commands with commander, and
// loads each command's module only when it runs, so light commands start fast.
// Exit codes: 0 ok, 1 a stage failed / stale, 2 invalid input or usage.
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { CliContext, EXIT, REPORTERS, type GlobalOptions } from './context.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function context(cmd: Command): CliContext {
  return new CliContext(cmd.optsWithGlobals<GlobalOptions>());
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('mlpipe')
    .description('Declarative pipelines for the machine-learning model lifecycle: validate, plan and run YAML pipelines with a content-addressed cache.')
    .version(version(), '-V, --version', 'print the version')
    .option('-C, --dir <dir>', 'run as if mlpipe was started in DIR')
    .addOption(new Option('--reporter <kind>', 'output style').choices(REPORTERS as string[]).default('auto'))
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('init')
    .description('create .mlpipe/ and pipelines/, and add .mlpipe/ to .gitignore')
    .action(async (_opts, cmd: Command) => {
      const { runInit } = await import('./init.js');
      setExit(runInit(context(cmd)));
    });

  program
    .command('validate')
    .description('check pipeline files (schema, ${...} names, params, paths, graph) without running anything')
    .argument('[file...]', 'pipeline files to check (default: every file in pipelines/)')
    .addHelpText('after', '\nExit codes: 0 valid, 2 invalid.')
    .action(async (files: string[], _opts, cmd: Command) => {
      const { runValidate } = await import('./validate.js');
      setExit(runValidate(context(cmd), files));
    });

  program
    .command('dag')
    .description('print the stage graph')
    .argument('[target...]', 'pipelines or stages (pipeline, pipeline:stage, stage, stage@instance); default: all')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['ascii', 'dot', 'mermaid', 'json']).default('ascii'))
    .option('--downstream', 'targets and every stage after them')
    .option('--single', 'targets only, without upstream stages')
    .action(async (targets: string[], opts: { format: 'ascii' | 'dot' | 'mermaid' | 'json'; downstream?: boolean; single?: boolean }, cmd: Command) => {
      const { runDag } = await import('./dag.js');
      setExit(runDag(context(cmd), targets, opts));
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram((code) => {
    exitCode = code;
  });
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.invalid;
    }
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version are successes; every other parse error is a usage error.
      return e.exitCode === 0 ? EXIT.ok : EXIT.invalid;
    }
    throw e;
  }
  return exitCode;
}
