// Command-line entry: parses global options and commands with commander, and
// loads each command's module only when it runs, so light commands start fast.
// Exit codes: 0 ok, 1 a stage failed / stale, 2 invalid input or usage.
import { mlpipeVersion } from '../util/version.js';
import { Command, CommanderError, Option } from 'commander';
import { CliContext, EXIT, REPORTERS, type GlobalOptions } from './context.js';

function context(cmd: Command): CliContext {
  return new CliContext(cmd.optsWithGlobals<GlobalOptions>());
}

/** The options run and watch share. */
function runOptions(cmd: Command): void {
  cmd
    .option('-j, --jobs <n>', 'stages at a time (default: CPU count)')
    .option('--downstream', 'the targets and everything after them; stale upstream is reported, not run')
    .option('--single', 'the targets only, no upstream')
    .option('--keep-going', 'a failure stops only its downstream')
    .option('--set <key=value>', 'override a param (repeatable; VALUE is YAML)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--no-wait', 'fail at once if another mlpipe holds the project')
    .option('--junit <file>', 'also write a JUnit XML report of each run to FILE')
    .option('--backend <name>', 'TensorFlow.js backend for ML actions: tensorflow, wasm or cpu (default: the first installed; MLPIPE_TF_BACKEND)')
    .option('--pull', 'before running a stale stage, look its key up on the remote: a hit restores its outputs without running')
    .option('--push', 'upload each finished stage\'s outputs and action record to the remote')
    .option('--remote <name>', 'the remote for --pull/--push (default: MLPIPE_REMOTE, else default_remote)');
}

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command('mlpipe')
    .description('Declarative pipelines for the machine-learning model lifecycle: validate, plan and run YAML pipelines with a content-addressed cache.')
    .version(mlpipeVersion(), '-V, --version', 'print the version')
    .option('-C, --dir <dir>', 'run as if mlpipe was started in DIR')
    .addOption(new Option('--reporter <kind>', 'output style').choices(REPORTERS as string[]).default('auto'))
    .option('--json', 'print one JSON document on stdout and nothing else there')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('init')
    .description('create .mlpipe/ and pipelines/, and add .mlpipe/ to .gitignore')
    .option('--example', 'also write a small runnable example project (two stages in plain Node.js, params, data, metrics, a plot)')
    .action(async (opts: { example?: boolean }, cmd: Command) => {
      const { runInit } = await import('./init.js');
      setExit(runInit(context(cmd), opts));
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

  program
    .command('run')
    .description('run what is stale (all pipelines by default), in parallel, with the content-addressed cache')
    .argument('[target...]', 'pipelines or stages; their stale upstream runs too')
    .option('--force', 'run the targets even if fresh')
    .option('--dry-run', 'print the plan and each stage\'s reason; run nothing')
    .option('--frozen', 'fail (exit 1, naming the stages) instead of running when the lock files are stale')
    .addHelpText('after', '\nExit codes: 0 ok, 1 a stage failed (or --frozen found stale lock files), 2 invalid pipeline or command line, 130 SIGINT, 143 SIGTERM.')
    .action(async (targets: string[], opts: Record<string, unknown>, cmd: Command) => {
      const { runRun } = await import('./run.js');
      setExit(await runRun(context(cmd), targets, opts, argvOf(cmd)));
    });

  program
    .command('watch')
    .description('run, then rerun the affected stages on every change to their inputs, params or pipeline files')
    .argument('[target...]', 'pipelines or stages; their stale upstream runs too')
    .addHelpText('after', '\nEnds with Ctrl-C (exit 130) or SIGTERM (143). A failed stage is retried only when one of its inputs changes.')
    .action(async (targets: string[], opts: Record<string, unknown>, cmd: Command) => {
      const { runWatch } = await import('./watch.js');
      setExit(await runWatch(context(cmd), targets, opts, argvOf(cmd)));
    });
  for (const name of ['run', 'watch']) runOptions(program.commands.find((c) => c.name() === name)!);

  program
    .command('status')
    .description('what is stale and why')
    .argument('[target...]', 'pipelines or stages (with their upstream)')
    .option('--check', 'exit 1 when anything is stale')
    .option('--remote', 'instead: the outputs (with their stages) that the remote lacks')
    .option('-r, --remote-name <name>', 'with --remote: which remote (default: MLPIPE_REMOTE, else default_remote)')
    .action(async (targets: string[], opts: { check?: boolean; remote?: boolean; remoteName?: string }, cmd: Command) => {
      if (opts.remote || opts.remoteName) {
        const { runStatusRemote } = await import('./sharing.js');
        setExit(await runStatusRemote(context(cmd), targets, opts.remoteName ? { remote: opts.remoteName } : {}));
        return;
      }
      const { runStatus } = await import('./status.js');
      setExit(await runStatus(context(cmd), targets, opts));
    });

  program
    .command('checkout')
    .description('restore the outputs recorded in the lock files from the cache')
    .argument('[target...]', 'pipelines or stages (default: all)')
    .action(async (targets: string[], _opts, cmd: Command) => {
      const { runCheckout } = await import('./checkout.js');
      setExit(await runCheckout(context(cmd), targets, argvOf(cmd)));
    });

  program
    .command('gc')
    .description('delete cache objects that no lock file, run-cache entry or registered model version references')
    .option('--dry-run', 'report what would be deleted')
    .option('--run-cache', 'first drop run-cache entries by a policy (--keep, --older-than); those the lock files use stay')
    .option('--keep <n>', 'with --run-cache: keep the newest N entries')
    .option('--older-than <days>', 'with --run-cache: drop entries older than DAYS')
    .option('--remote', 'collect a remote cache instead: blobs no commit\'s lock file, experiment or registered version references')
    .option('-r, --remote-name <name>', 'with --remote: which remote (default: MLPIPE_REMOTE, else default_remote)')
    .action(async (opts: Record<string, string | boolean>, cmd: Command) => {
      const { runGc } = await import('./gc.js');
      setExit(await runGc(context(cmd), opts, argvOf(cmd)));
    });

  const models = program.command('models').description('the model registry (registry/<name>.yaml): list, show, promote and retire versions');
  models
    .command('list')
    .description('every registered version with its aliases, status and headline metrics')
    .argument('[name]', 'one model only')
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      const { runModelsList } = await import('./models.js');
      setExit(await runModelsList(context(cmd), name));
    });
  models
    .command('show')
    .description('one version: hash, metrics, params, where it came from, aliases, retirement')
    .argument('<model>', 'NAME, NAME@ALIAS or NAME:VERSION')
    .action(async (ref: string, _opts, cmd: Command) => {
      const { runModelsShow } = await import('./models.js');
      setExit(await runModelsShow(context(cmd), ref));
    });
  models
    .command('promote')
    .description('point an alias (production, staging, any name) at a version; a retired version is refused')
    .argument('<model>', 'NAME:VERSION or NAME@ALIAS (the version it points at)')
    .argument('<alias>', 'the alias to move')
    .action(async (ref: string, alias: string, _opts, cmd: Command) => {
      const { runModelsPromote } = await import('./models.js');
      setExit(await runModelsPromote(context(cmd), ref, alias));
    });
  models
    .command('retire')
    .description('mark a version retired, with a reason: nothing serves or promotes it afterwards')
    .argument('<model>', 'NAME:VERSION or NAME@ALIAS')
    .requiredOption('--reason <text>', 'why it is retired (recorded in the registry)')
    .action(async (ref: string, opts: { reason: string }, cmd: Command) => {
      const { runModelsRetire } = await import('./models.js');
      setExit(await runModelsRetire(context(cmd), ref, opts.reason));
    });

  const tableFormats = (cmd: Command, csv: boolean) => {
    cmd.option('--md', 'print a Markdown table');
    if (csv) cmd.option('--csv', 'print CSV');
    return cmd;
  };
  const params = program.command('params').description('parameter values across revisions');
  tableFormats(
    params
      .command('diff')
      .description('params files compared between two revisions (default: HEAD and the working tree); changed keys only unless --all')
      .argument('[a_rev]', 'a git revision or experiment name (default: HEAD)')
      .argument('[b_rev]', 'a git revision or experiment name (default: the working tree)')
      .option('--all', 'every key, changed or not'),
    false,
  ).action(async (a: string | undefined, b: string | undefined, opts: Record<string, string>, cmd: Command) => {
    const { runParamsDiff } = await import('./compare.js');
    setExit(await runParamsDiff(context(cmd), a, b, opts));
  });
  const metrics = program.command('metrics').description('metric values (every number in the stages\' metrics files) across revisions');
  tableFormats(
    metrics
      .command('show')
      .description('the metrics of the working tree (and of each --rev)')
      .argument('[target...]', 'metrics files or directories (default: all)')
      .option('--rev <rev>', 'also show this git revision or experiment (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
      .option('--precision <n>', 'digits after the decimal point', '5'),
    true,
  ).action(async (targets: string[], opts: Record<string, string> & { rev?: string[] }, cmd: Command) => {
    const { runMetricsShow } = await import('./compare.js');
    setExit(await runMetricsShow(context(cmd), targets, opts));
  });
  tableFormats(
    metrics
      .command('diff')
      .description('metrics compared between two revisions (default: HEAD and the working tree), with the change; changed values only unless --all')
      .argument('[a_rev]', 'a git revision or experiment name (default: HEAD)')
      .argument('[b_rev]', 'a git revision or experiment name (default: the working tree)')
      .option('--all', 'every metric, changed or not')
      .option('--precision <n>', 'digits after the decimal point', '5'),
    true,
  ).action(async (a: string | undefined, b: string | undefined, opts: Record<string, string>, cmd: Command) => {
    const { runMetricsDiff } = await import('./compare.js');
    setExit(await runMetricsDiff(context(cmd), a, b, opts));
  });

  const transfer = (name: string, description: string) =>
    program
      .command(name)
      .description(description)
      .argument('[target...]', 'pipelines or stages (default: all)')
      .option('-r, --remote <name>', 'the remote (default: MLPIPE_REMOTE, else default_remote)')
      .option('-j, --jobs <n>', 'transfers at a time (default: 16 for s3 and http, 8 for a directory)');
  transfer('push', 'upload the outputs the lock files record (and their action records) that the remote lacks')
    .option('--all-commits', 'also the outputs recorded by every commit (branches, tags, experiments)')
    .addHelpText('after', '\nExit codes: 0 done, 1 a transfer failed (run it again: only what is missing moves), 2 no such remote or a read-only one.')
    .action(async (targets: string[], opts: Record<string, string>, cmd: Command) => {
      const { runPush } = await import('./sharing.js');
      setExit(await runPush(context(cmd), targets, opts));
    });
  transfer('fetch', 'download into the cache the outputs the lock files record that the cache lacks').action(async (targets: string[], opts: Record<string, string>, cmd: Command) => {
    const { runFetch } = await import('./sharing.js');
    setExit(await runFetch(context(cmd), targets, opts, argvOf(cmd), false));
  });
  transfer('pull', 'fetch, then check the outputs out into the workspace').action(async (targets: string[], opts: Record<string, string>, cmd: Command) => {
    const { runFetch } = await import('./sharing.js');
    setExit(await runFetch(context(cmd), targets, opts, argvOf(cmd), true));
  });

  const remote = program.command('remote').description(`remote caches, in mlpipe.config.yaml (committed) or with --local in .mlpipe/config.yaml`);
  remote
    .command('add')
    .description('add a remote: a directory (a path or file://), s3://bucket/prefix, or http(s)://host/prefix')
    .argument('<name>', 'remote name')
    .argument('<url>', 'where it is')
    .option('--default', 'make it the default remote')
    .option('--local', 'write .mlpipe/config.yaml (not committed: for credentials)')
    .option('--read-only', 'read, never written')
    .option('--force', 'replace a remote of that name')
    .action(async (name: string, url: string, opts: Record<string, boolean>, cmd: Command) => {
      const { runRemoteAdd } = await import('./remote.js');
      setExit(runRemoteAdd(context(cmd), name, url, opts));
    });
  remote
    .command('modify')
    .description('set (or --unset) an option of a remote: url, read_only, endpoint, region, path_style, jobs, timeout')
    .argument('<name>', 'remote name')
    .argument('<option>', 'option')
    .argument('[value]', 'value')
    .option('--local', 'in .mlpipe/config.yaml')
    .option('--unset', 'remove the option')
    .action(async (name: string, option: string, value: string | undefined, opts: Record<string, boolean>, cmd: Command) => {
      const { runRemoteModify } = await import('./remote.js');
      setExit(runRemoteModify(context(cmd), name, option, value, opts));
    });
  remote
    .command('remove')
    .description('remove a remote')
    .argument('<name>', 'remote name')
    .option('--local', 'from .mlpipe/config.yaml')
    .action(async (name: string, opts: Record<string, boolean>, cmd: Command) => {
      const { runRemoteRemove } = await import('./remote.js');
      setExit(runRemoteRemove(context(cmd), name, opts));
    });
  remote
    .command('list')
    .description('the configured remotes (both files merged), the default marked')
    .action(async (_opts, cmd: Command) => {
      const { runRemoteList } = await import('./remote.js');
      setExit(runRemoteList(context(cmd)));
    });

  const plots = program.command('plots').description('charts of the stages\' plots files and the pipelines\' plots: sections, as one self-contained HTML page');
  plots
    .command('show')
    .description('chart the working tree\'s plots')
    .argument('[target...]', 'plots files or chart ids (default: all)')
    .option('-o, --out <dir>', 'write DIR/index.html', 'mlpipe_plots')
    .action(async (targets: string[], opts: { out: string }, cmd: Command) => {
      const { runPlotsShow } = await import('./compare.js');
      setExit(await runPlotsShow(context(cmd), targets, opts));
    });
  plots
    .command('diff')
    .description('overlay the plots of revisions, a colour each (default: HEAD and the working tree; one REV: it and the working tree)')
    .argument('[rev...]', 'git revisions or experiment names')
    .option('--target <path>', 'only this plots file or chart id (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-o, --out <dir>', 'write DIR/index.html', 'mlpipe_plots')
    .action(async (revs: string[], opts: { out: string; target?: string[] }, cmd: Command) => {
      const { runPlotsDiff } = await import('./compare.js');
      setExit(await runPlotsDiff(context(cmd), revs, opts));
    });

  const exp = program.command('exp').description('experiments: runs with other params in isolated working copies, recorded as git commits under refs/exps/');
  exp
    .command('run')
    .description('run the pipeline as one or more experiments (a sweep: --set KEY=a,b,c or range(start,stop,step), cross product over keys)')
    .argument('[target...]', 'pipelines or stages (default: all)')
    .option('--set <key=values>', 'a param value, or a list of values to sweep (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('-n, --name <name>', 'the experiment\'s name (a sweep: NAME-1, NAME-2, …)')
    .option('-j, --jobs <n>', 'stages at a time across all experiments (default: CPU count)')
    .option('--queue', 'record the experiments as queued, without running them')
    .option('--run-all', 'run the experiments queued on this commit')
    .addHelpText('after', '\nExit codes: 0 every experiment done, 1 one failed (it is recorded as failed, the others finish), 2 invalid command line or pipeline, 130/143 interrupted (nothing recorded).')
    .action(async (targets: string[], opts: Record<string, unknown>, cmd: Command) => {
      const { runExpRun } = await import('./exp.js');
      setExit(await runExpRun(context(cmd), targets, opts, ['exp', ...argvOf(cmd)]));
    });
  tableFormats(
    exp
      .command('show')
      .description('the workspace, HEAD and each experiment of HEAD: state, the params that differ, every metric')
      .option('-A, --all-commits', 'experiments of every commit')
      .option('--all', 'every param, also those equal in all rows')
      .option('--keep <regex>', 'only the param and metric columns whose title matches')
      .option('--drop <regex>', 'hide the param and metric columns whose title matches (--keep wins)')
      .option('--sort-by <column>', 'sort experiments by a param or metric (or name, created, state)')
      .addOption(new Option('--sort-order <order>', 'with --sort-by').choices(['asc', 'desc']).default('asc'))
      .option('--precision <n>', 'digits after the decimal point', '5'),
    true,
  ).action(async (opts: Record<string, string>, cmd: Command) => {
    const { runExpShow } = await import('./exp.js');
    setExit(await runExpShow(context(cmd), opts));
  });
  tableFormats(
    exp
      .command('diff')
      .description('params and metrics of two experiments (or revisions) side by side, with the change')
      .argument('<a>', 'experiment name or git revision')
      .argument('<b>', 'experiment name or git revision')
      .option('--all', 'unchanged values too')
      .option('--precision <n>', 'digits after the decimal point', '5'),
    false,
  ).action(async (a: string, b: string, opts: Record<string, string>, cmd: Command) => {
    const { runExpDiff } = await import('./exp.js');
    setExit(await runExpDiff(context(cmd), a, b, opts));
  });
  exp
    .command('apply')
    .description('put an experiment\'s params, lock and metrics files into the working tree and check out its outputs')
    .argument('<name>', 'experiment name')
    .option('--force', 'overwrite uncommitted changes to those files')
    .action(async (name: string, opts: { force?: boolean }, cmd: Command) => {
      const { runExpApply } = await import('./exp.js');
      setExit(await runExpApply(context(cmd), name, opts, ['exp', ...argvOf(cmd)]));
    });
  exp
    .command('branch')
    .description('make a git branch of an experiment')
    .argument('<name>', 'experiment name')
    .argument('<branch>', 'new branch name')
    .action(async (name: string, branch: string, _opts, cmd: Command) => {
      const { runExpBranch } = await import('./exp.js');
      setExit(await runExpBranch(context(cmd), name, branch));
    });
  exp
    .command('list')
    .description('experiments of HEAD (-A: of every commit) with their state and values')
    .option('-A, --all-commits', 'experiments of every commit')
    .action(async (opts: { allCommits?: boolean }, cmd: Command) => {
      const { runExpList } = await import('./exp.js');
      setExit(await runExpList(context(cmd), opts));
    });
  exp
    .command('remove')
    .description('delete experiments (their refs; cached outputs stay until gc)')
    .argument('<name...>', 'experiment names')
    .action(async (names: string[], _opts, cmd: Command) => {
      const { runExpRemove } = await import('./exp.js');
      setExit(await runExpRemove(context(cmd), names));
    });
  exp
    .command('push')
    .description('push experiments (all, or the named ones) to a git remote')
    .argument('<git_remote>', 'a git remote name or URL')
    .argument('[name...]', 'experiment names (default: all)')
    .option('-r, --remote <name>', 'the remote cache their outputs go to (default: MLPIPE_REMOTE, else default_remote)')
    .action(async (remote: string, names: string[], opts: { remote?: string }, cmd: Command) => {
      const { runExpPush } = await import('./exp.js');
      setExit(await runExpPush(context(cmd), remote, names, opts));
    });
  exp
    .command('pull')
    .description('fetch experiments (all, or the named ones) from a git remote')
    .argument('<git_remote>', 'a git remote name or URL')
    .argument('[name...]', 'experiment names (default: all)')
    .option('-r, --remote <name>', 'the remote cache their outputs come from (default: MLPIPE_REMOTE, else default_remote)')
    .action(async (remote: string, names: string[], opts: { remote?: string }, cmd: Command) => {
      const { runExpPull } = await import('./exp.js');
      setExit(await runExpPull(context(cmd), remote, names, opts));
    });

  program
    .command('serve')
    .description('serve a model over HTTP with MLflow\'s scoring protocol: POST /invocations, GET /ping /health /version /metrics')
    .argument('<model>', 'NAME, NAME@ALIAS or NAME:VERSION from the registry, or a directory mlpipe/package wrote')
    .option('-p, --port <port>', 'port (0 picks a free one)', '5000')
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--log <file>', 'append every scored row with its prediction to FILE (JSON lines; mlpipe/monitor reads it)')
    .option('--max-body <size>', 'largest request body, e.g. 512kb, 5mb', '5mb')
    .option('--max-rows <n>', 'most rows one request may score', '10000')
    .option('--request-timeout <seconds>', 'time a client has to send a request; idle connections close after it', '30')
    .option('--max-connections <n>', 'most open connections at once', '1024')
    .option('--backend <name>', 'TensorFlow.js backend: tensorflow, wasm or cpu (default: the first installed)')
    .addHelpText('after', '\nExit codes: 2 the model cannot be served (unknown, retired, not in the cache); 143 after SIGTERM, 130 after SIGINT (graceful shutdown).')
    .action(async (model: string, opts: Record<string, string>, cmd: Command) => {
      const { runServe } = await import('./serve.js');
      setExit(await runServe(context(cmd), model, opts));
    });

  return program;
}

/** The command line as typed, for the project lock and run records. */
function argvOf(cmd: Command): string[] {
  return [cmd.name(), ...cmd.args];
}

export async function main(argv: string[]): Promise<number> {
  // A reader that stops early (`mlpipe run --json | head`): the rest of the
  // output goes nowhere, and the command finishes what it started (a run keeps
  // its lock entries and releases the project lock) instead of crashing.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') throw e;
    });
  }
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
