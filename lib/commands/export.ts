/**
 * `model-distill export config.ini [uniqid] [--model textcnn|gru|teacher] --onnx FILE`: writes a
 * trained student of a run as an ONNX model (lib/onnx/export-student.ts): input `input_ids` int64
 * [batch, seq] (0 = [PAD]) -> `probabilities` and `logits` [batch, C]; or the run's native
 * transformer teacher (lib/onnx/export-teacher.ts): input_ids, attention_mask, token_type_ids ->
 * logits, with its vocab.txt put beside FILE when that folder has none. Written atomically.
 */
import { flagString, UsageError, type CommandSpec, type ParsedArgs } from './args';
import { modelFlag } from './model-flag';

export const exportCommand: CommandSpec = {
  name: 'export',
  summary: 'write a trained student (or the teacher) as an ONNX model',
  usage: 'export config.ini [uniqid] [--model textcnn|gru|teacher] --onnx FILE',
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

--model teacher exports the run's native transformer teacher (<run>/teacher/):
  input   input_ids       int64 [batch, seq]  [CLS] pieces [SEP] from the teacher's vocab.txt
          attention_mask  int64 [batch, seq]  1 = token, 0 = padding
          token_type_ids  int64 [batch, seq]  0 for single texts
  output  logits          float [batch, C]
the layout of Hugging Face BERT exports, so another run can use it as
[teacher] kind = onnx (its vocab.txt is copied beside FILE unless one is there).

Example:
  model-distill export examples/config.ini --model textcnn --onnx textcnn.onnx`,
  flags: [
    { name: 'model', type: 'string', valueName: 'KIND', description: 'which model of the run: textcnn, gru or teacher', defaultText: 'first of [model] students' },
    { name: 'onnx', type: 'string', valueName: 'FILE', description: 'the ONNX file to write', required: true },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runExport,
};

async function runExport(args: ParsedArgs): Promise<number> {
  const [configPath, uniqidArg] = args.positionals;
  const model = modelFlag(args, ['teacher']);
  const out = flagString(args, 'onnx');
  if (out === undefined || out === '') throw new UsageError('Expected a file name for --onnx');

  const { loadConfig } = require('../config') as typeof import('../config');
  const { findRun, modelFolder } = require('../pipeline/run-folder') as typeof import('../pipeline/run-folder');
  // Export needs only [model]: the data files may live elsewhere.
  const config = loadConfig(configPath, { checkPaths: false });
  const run = findRun(config, uniqidArg);
  if (model === 'teacher') return exportTeacher(run.dir, run.uniqid, out);
  const { kind, dir } = modelFolder(config, run, model, uniqidArg);
  const { exportOnnx } = require('../onnx/export-student') as typeof import('../onnx/export-student');
  const written = exportOnnx(dir, out);
  process.stdout.write(`exported ${kind} of run "${run.uniqid}" (${dir}) to ${written}\n`);
  return 0;
}

/** --model teacher: <run>/teacher/ -> FILE, and its vocab.txt beside FILE for [teacher] kind = onnx. */
function exportTeacher(runDir: string, uniqid: string, out: string): number {
  const fs = require('fs') as typeof import('fs');
  const path = require('path') as typeof import('path');
  const { TEACHER_DIR } = require('../pipeline/teacher/types') as typeof import('../pipeline/teacher/types');
  const dir = path.join(runDir, TEACHER_DIR);
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    throw new Error(`no teacher in run "${uniqid}" (${dir}/config.json not found); a run trains one with [teacher] kind = native`);
  }
  const { exportTeacherFolderOnnx } = require('../onnx/export-teacher') as typeof import('../onnx/export-teacher');
  const written = exportTeacherFolderOnnx(dir, out);
  process.stdout.write(`exported the teacher of run "${uniqid}" (${dir}) to ${written}\n`);
  const vocab = path.join(path.dirname(written), 'vocab.txt');
  const teacherVocab = path.join(dir, 'vocab.txt');
  if (!fs.existsSync(vocab)) {
    fs.copyFileSync(teacherVocab, vocab);
    process.stdout.write(`copied its vocab.txt to ${vocab} ([teacher] kind = onnx reads it from there)\n`);
  } else if (!fs.readFileSync(vocab).equals(fs.readFileSync(teacherVocab))) {
    process.stdout.write(`note: ${vocab} is another vocabulary; for [teacher] kind = onnx set [teacher] vocab = ${teacherVocab}\n`);
  }
  const lowercase = (JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { lowercase?: unknown }).lowercase;
  const tokenizerConfig = path.join(path.dirname(written), 'tokenizer_config.json');
  if (typeof lowercase === 'boolean' && !fs.existsSync(tokenizerConfig)) {
    // What kind = onnx (and Hugging Face tokenizers) read for case folding.
    fs.writeFileSync(tokenizerConfig, JSON.stringify({ do_lower_case: lowercase }, null, 2) + '\n');
  }
  return 0;
}
