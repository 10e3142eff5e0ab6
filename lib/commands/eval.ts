/**
 * `model-distill eval config.ini [uniqid]`: scores the students of a run on a
 * labelled file: accuracy, macro-F1, per-class precision/recall/F1 and the
 * confusion matrix (lib/metrics.ts), or one JSON line per model with --json.
 */
import * as path from 'path';

import { flagBoolean, flagNumber, flagString, type CommandSpec, type ParsedArgs } from './args';
import { modelFlag } from './model-flag';

const BATCH = 1024;

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'score the students of a run on a labelled file (accuracy, macro-F1, per class, confusion)',
  usage: 'eval config.ini [uniqid] [--data FILE.tsv] [--model textcnn|gru] [--json]',
  details: `
Loads each student of <model.dir>/<uniqid>/ (or only --model) and predicts the
texts of --data (text<TAB>label lines; default: [data] eval of the config).
A row with no tab, an empty text or a label the model does not know is an error
naming its line. Prints, per model, accuracy and macro-F1, a table of
precision / recall / F1 / support per class, and the confusion matrix (rows:
true class, columns: predicted class). With --json, one line per model:
  {"model":"textcnn","accuracy":0.9,"macroF1":0.89,"n":1000}`,
  flags: [
    { name: 'data', type: 'string', valueName: 'FILE', description: 'labelled file to score, text<TAB>label', defaultText: '[data] eval' },
    { name: 'model', type: 'string', valueName: 'KIND', description: 'score only this student: textcnn or gru', defaultText: 'every student in the run' },
    { name: 'json', type: 'boolean', description: 'one JSON line per model instead of tables' },
    { name: 'threads', type: 'non-negative-int', valueName: 'N', description: 'worker threads, 0 = all cores', defaultText: '0' },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runEval,
};

async function runEval(args: ParsedArgs): Promise<number> {
  const [configPath, uniqidArg] = args.positionals;
  const json = flagBoolean(args, 'json');
  const threads = flagNumber(args, 'threads') ?? 0;

  const { loadConfig } = require('../config') as typeof import('../config');
  const { findRun, modelFolder } = require('../pipeline/run-folder') as typeof import('../pipeline/run-folder');
  const { classIdsFromLabels, readLabelledTsv } = require('../data') as typeof import('../data');
  const { argmaxRows, classificationReport, formatReport } = require('../metrics') as typeof import('../metrics');
  const config = loadConfig(configPath, { checkPaths: false });
  const dataArg = flagString(args, 'data');
  const dataPath = dataArg !== undefined ? path.resolve(dataArg) : config.data.eval;
  const run = findRun(config, uniqidArg);
  const requested = modelFlag(args);
  const kinds = requested !== undefined ? [modelFolder(config, run, requested, uniqidArg).kind] : run.models;
  if (kinds.length === 0) {
    // modelFolder() words the "nothing trained here" error, with the command that fixes it.
    modelFolder(config, run, undefined, uniqidArg);
  }

  const { Classifier } = require('../classifier') as typeof import('../classifier');
  for (const kind of kinds) {
    const classifier = await Classifier.load(path.join(run.dir, kind), { threads });
    try {
      const data = readLabelledTsv(dataPath, classIdsFromLabels(classifier.labels));
      const C = classifier.labels.length;
      const predicted = new Int32Array(data.texts.length);
      for (let start = 0; start < data.texts.length; start += BATCH) {
        const probs = await classifier.predictProbabilities(data.texts.slice(start, start + BATCH));
        // An accuracy over NaN scores would be meaningless (argmax of NaN picks class 0).
        const bad = probs.findIndex((p) => !Number.isFinite(p));
        if (bad >= 0) throw new Error(`${kind}: the model gave a non-finite probability (${probs[bad]}) for row ${start + Math.floor(bad / C) + 1} of ${dataPath}; its weights overflow`);
        predicted.set(argmaxRows(probs, C), start);
      }
      const report = classificationReport(data.labels, predicted, classifier.labels);
      if (json) {
        process.stdout.write(JSON.stringify({ model: kind, accuracy: report.accuracy, macroF1: report.macroF1, n: report.n }) + '\n');
      } else {
        process.stdout.write(formatReport(report, `${kind} (run "${run.uniqid}") on ${dataPath}`) + '\n');
      }
    } finally {
      classifier.close();
    }
  }
  return 0;
}
