/**
 * `model-distill clean-labels config.ini [uniqid] [--relabel [--min-confidence P]]`:
 * writes a cleaned copy of the train file from <run>/wrong_labels.tsv
 * (lib/labels/clean.ts); the original is never changed.
 */
import { flagBoolean, flagString, UsageError, type CommandSpec, type ParsedArgs } from './args';

export const cleanLabelsCommand: CommandSpec = {
  name: 'clean-labels',
  summary: 'write a cleaned train file from the rows detect-wrong-labels flagged',
  usage: 'clean-labels config.ini [uniqid] [--relabel [--min-confidence P]]',
  details: `
Reads <model.dir>/<uniqid>/wrong_labels.tsv (written by detect-wrong-labels) and
the train file, and writes [data] cleaned_train (default <train>.cleaned.tsv
beside the train file): every line of the train file in order, without the
flagged rows. With --relabel, a flagged row whose suggested label has
confidence >= P gets that label instead, and the other flagged rows are
dropped. The train file is never changed. A flagged line that no longer
matches the train file (it changed since detection) is an error naming it.`,
  flags: [
    { name: 'relabel', type: 'boolean', description: 'give confidently re-predicted rows their suggested label instead of dropping them' },
    { name: 'min-confidence', type: 'string', valueName: 'P', description: 'with --relabel: least confidence (0..1) to relabel a row', defaultText: '0.5' },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runClean,
};

async function runClean(args: ParsedArgs): Promise<number> {
  const [configPath, uniqid] = args.positionals;
  const relabel = flagBoolean(args, 'relabel');
  const raw = flagString(args, 'min-confidence');
  let minConfidence: number | undefined;
  if (raw !== undefined) {
    if (!relabel) throw new UsageError('--min-confidence only applies with --relabel');
    minConfidence = /^\s*[+]?(\d+(\.\d*)?|\.\d+)\s*$/.test(raw) ? Number(raw) : NaN;
    if (!(minConfidence >= 0 && minConfidence <= 1)) {
      throw new UsageError(`Expected a number between 0 and 1 for --min-confidence but received ${JSON.stringify(raw)}`);
    }
  }
  const { cleanLabels } = require('../training') as typeof import('../training');
  const { formatCleanSummary } = require('../labels/clean') as typeof import('../labels/clean');
  const report = await cleanLabels(configPath, uniqid, { relabel, minConfidence });
  process.stdout.write(formatCleanSummary(report));
  return 0;
}
