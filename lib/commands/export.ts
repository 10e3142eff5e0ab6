/**
 * `model-distill export config.ini [uniqid] [--model textcnn|gru] --onnx FILE`: writes a trained
 * student of a run as an ONNX model (lib/onnx/export-student.ts): input `input_ids` int64
 * [batch, seq] (0 = [PAD]) -> `probabilities` and `logits` [batch, C]. Written atomically.
 */
import { flagString, UsageError, type CommandSpec, type ParsedArgs } from './args';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'write a trained student as an ONNX model (input_ids -> probabilities, logits)',
  usage: 'export config.ini [uniqid] [--model textcnn|gru] --onnx FILE',
  details: `
Exports <model.dir>/<uniqid>/<model>/ (uniqid absent: "default"; --model absent:
the first of [model] students) to FILE, ONNX opset 17, loadable by onnxruntime
(node, web) and any ONNX runtime:
  input   input_ids      int64 [batch, seq]  token ids from the model's vocab.txt,
                                             padded with 0 ([PAD]) after each text
  output  probabilities  float [batch, C]    class order = the model's class_id.txt
          logits         float [batch, C]
Ids come from the model's tokenizer (model-distill tokenize --vocab <model>/vocab.txt,
[CLS] ... [SEP], at most config.json maxLength). The file is written atomically.
The teacher (--model teacher) cannot be exported yet.

Example:
  model-distill export examples/config.ini --model textcnn --onnx textcnn.onnx`,
  flags: [
    { name: 'model', type: 'string', valueName: 'KIND', description: 'which student of the run: textcnn or gru', defaultText: 'first of [model] students' },
    { name: 'onnx', type: 'string', valueName: 'FILE', description: 'the ONNX file to write', required: true },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runExport,
};

async function runExport(args: ParsedArgs): Promise<number> {
  const [configPath, uniqidArg] = args.positionals;
  const model = flagString(args, 'model');
  const out = flagString(args, 'onnx');
  if (out === undefined || out === '') throw new UsageError('Expected a file name for --onnx');
  if (model === 'teacher') throw new Error('exporting the teacher is not available yet (it comes with the teacher itself); export a student: --model textcnn or --model gru');

  const { loadConfig } = require('../config') as typeof import('../config');
  const { findRun, modelFolder } = require('../pipeline/run-folder') as typeof import('../pipeline/run-folder');
  // Export needs only [model]: the data files may live elsewhere.
  const config = loadConfig(configPath, { checkPaths: false });
  const run = findRun(config, uniqidArg);
  const { kind, dir } = modelFolder(config, run, model, uniqidArg);
  const { exportOnnx } = require('../onnx/export-student') as typeof import('../onnx/export-student');
  const written = exportOnnx(dir, out);
  process.stdout.write(`exported ${kind} of run "${run.uniqid}" (${dir}) to ${written}\n`);
  return 0;
}
