/**
 * `model-distill detect-wrong-labels config.ini [uniqid]`: k-fold
 * cross-validation of a student, then confident learning, to list the train
 * rows whose given label is probably wrong (lib/labels/detect.ts). Messages
 * and the progress bar go to stderr; the summary goes to stdout.
 */
import type { CommandSpec, ParsedArgs } from './args';
import { withInterruptSignal } from './interrupt';

export const detectWrongLabelsCommand: CommandSpec = {
  name: 'detect-wrong-labels',
  summary: 'find train rows whose label is probably wrong (cross-validation + confident learning)',
  usage: 'detect-wrong-labels config.ini [uniqid]',
  details: `
Splits the train file into [labels] folds (default 5) folds, stratified by label
and seeded by [train] seed. For each fold, trains a fresh student ([labels]
model, default the first of [model] students; same sizes and [train] settings
as 'train') on the other folds and predicts the held-out rows. [labels]
repeats = R makes R such splits with different seeds, and [labels] model may
list several students: the out-of-fold probabilities of all runs are averaged.
With these probabilities, confident learning (Northcutt et al., 2021)
estimates the label noise per class and flags rows: [labels] filter =
low_self_confidence (default), low_normalized_margin, prune_by_noise_rate,
prune_by_class or both; ranked by [labels] rank_by = self_confidence (default)
or normalized_margin.
Writes <model.dir>/<uniqid>/wrong_labels.tsv (line in the train file, text,
given label, suggested label, confidence; most suspect first) and
wrong_labels.json (estimated noise per class, counts, settings), and prints the
summary. Then: model-distill clean-labels config.ini [uniqid].`,
  flags: [],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runDetect,
};

async function runDetect(args: ParsedArgs): Promise<number> {
  const [configPath, uniqid] = args.positionals;
  // Loaded here: `--help` must work where the addon cannot load.
  const { detectWrongLabels } = require('../training') as typeof import('../training');
  const { formatDetectionSummary } = require('../labels/detect') as typeof import('../labels/detect');
  await withInterruptSignal(async (signal) => {
    const report = await detectWrongLabels(configPath, uniqid, {
      log: (line) => process.stderr.write(`${line}\n`),
      progress: process.stderr,
      signal,
    });
    process.stdout.write(formatDetectionSummary(report));
  });
  return 0;
}
