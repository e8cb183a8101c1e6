// The built-in actions a stage may name with `uses: mlpipe/<name>`. The
// lifecycle actions (split, train, evaluate, tune, register, package, monitor,
// report) are added here as they are implemented; naming any other is an error
// at validation time rather than a failure mid-run.
export const BUILTIN_ACTIONS: readonly string[] = [];
