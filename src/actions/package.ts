// mlpipe/package: a self-contained directory with everything `mlpipe serve`
// needs and nothing else — the model (model.json + weights.bin), its
// preprocessing, its signature (input columns and types, output), an input
// example in MLflow's dataframe_split form, and metadata (name, version and
// hash when registered, task, classes, versions of mlpipe and TensorFlow.js).
// Deterministic: the same model and inputs give the same bytes.
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ActionError } from './errors.js';
import { readJsonObject } from './json-files.js';
import { writeOutput } from './output.js';
import type { Preprocess } from '../ml/features.js';
import { MODEL_FILES } from '../ml/model-files.js';
import { signatureOf } from '../ml/signature.js';
import { readTable } from '../ml/table.js';
import { mlpipeVersion, packageVersion } from '../util/version.js';

export interface PackageInputs {
  readonly model: string;
  readonly example?: string;
  readonly example_rows?: number;
  readonly registration?: string;
  readonly out: string;
}

export function packageModel(inputs: PackageInputs, log: (line: string) => void): void {
  const pre = readJsonObject(join(inputs.model, 'preprocess.json'), `${inputs.model} is not a model directory mlpipe/train wrote`) as unknown as Preprocess;
  const signature = signatureOf(pre);
  rmSync(inputs.out, { recursive: true, force: true });
  for (const f of MODEL_FILES) {
    writeOutput(join(inputs.out, f), '');
    copyFileSync(join(inputs.model, f), join(inputs.out, f));
  }
  writeOutput(join(inputs.out, 'signature.json'), `${JSON.stringify(signature, null, 2)}\n`);
  if (inputs.example) {
    const table = readTable(inputs.example);
    const at = signature.inputs.map((c) => {
      const i = table.columns.indexOf(c.name);
      if (i === -1) throw new ActionError(`${inputs.example} has no column "${c.name}", which the model takes`);
      return i;
    });
    const rows = table.rows.slice(0, inputs.example_rows ?? 3).map((r) => at.map((i, j) => (signature.inputs[j]!.type === 'double' ? Number(r[i]) : r[i])));
    writeOutput(join(inputs.out, 'input_example.json'), `${JSON.stringify({ dataframe_split: { columns: signature.inputs.map((c) => c.name), data: rows } }, null, 2)}\n`);
  }
  const registered = inputs.registration ? (readJsonObject(inputs.registration, `${inputs.registration} is not a receipt mlpipe/register wrote`) as { name: string; version: number; hash: string }) : undefined;
  const metadata = {
    format: 'mlpipe-package',
    format_version: 1,
    ...(registered ? { name: registered.name, version: registered.version, model_hash: registered.hash } : {}),
    task: pre.task,
    label: pre.label,
    ...(pre.classes ? { classes: pre.classes } : {}),
    flavor: 'tfjs-layers',
    files: [...MODEL_FILES, 'signature.json', ...(inputs.example ? ['input_example.json'] : [])],
    mlpipe_version: mlpipeVersion(),
    tfjs_version: packageVersion('@tensorflow/tfjs-core'),
  };
  writeOutput(join(inputs.out, 'metadata.json'), `${JSON.stringify(metadata, null, 2)}\n`);
  log(`packaged ${registered ? `${registered.name}:${registered.version} ` : ''}into ${inputs.out}: ${signature.inputs.length} input columns → ${signature.outputs[0].name} (${signature.task})`);
}
