/**
 * `model-distill experiment config.ini [uniqid]`: the reference experiment
 * (lib/experiment/run.ts). Training messages go to stderr; stdout gets the
 * table (markdown), or with --json one line per row:
 *   {"model":"textcnn","setting":"alone","accuracy":0.92,"macroF1":0.91}
 */
import { flagBoolean, flagString, type CommandSpec, type ParsedArgs } from './args';

export const experimentCommand: CommandSpec = {
  name: 'experiment',
  summary: 'TextCNN and GRU alone / distilled / distilled with the pool, plus the teacher: table and bar chart',
  usage: 'experiment config.ini [uniqid] [--data FILE.tsv] [--json]',
  details: `
Trains every student of the config in three settings, each an ordinary train
run of a derived config kept in <model.dir>/<uniqid>/experiment/<setting>.ini:
  alone           [teacher] kind = none, [distill] enabled = false
  distilled       [distill] enabled = true, use_unlabeled = false
  distilled+pool  [distill] enabled = true, use_unlabeled = true
plus the teacher, and scores each on [data] eval (and on --data FILE, default
[data] test). Writes experiment.md, experiment.svg and experiment.png into
<model.dir>/<uniqid>/ and prints the table. A setting the config or this version
cannot run (no teacher, teacher kind not implemented) gets a row that says why.
Exit status 1 when a setting failed for any other reason.`,
  flags: [
    { name: 'data', type: 'string', valueName: 'FILE', description: 'extra labelled file to score, text<TAB>label', defaultText: '[data] test' },
    { name: 'json', type: 'boolean', description: 'one JSON line per row instead of the table' },
  ],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runExperimentCommand,
};

async function runExperimentCommand(args: ParsedArgs): Promise<number> {
  const [configPath, uniqid] = args.positionals;
  const { experiment } = require('../training') as typeof import('../training');
  const { formatMarkdown, jsonRow } = require('../experiment/run') as typeof import('../experiment/run');
  const { loadConfig } = require('../config') as typeof import('../config');
  const result = await experiment(configPath, uniqid, {
    data: flagString(args, 'data'),
    log: (line) => process.stderr.write(`${line}\n`),
    progress: process.stderr,
  });
  if (flagBoolean(args, 'json')) {
    for (const row of result.rows) process.stdout.write(JSON.stringify(jsonRow(row)) + '\n');
  } else {
    process.stdout.write(formatMarkdown(result, loadConfig(configPath, { checkPaths: false }).data.eval));
    process.stdout.write(`\nwritten: ${result.files.markdown}, ${result.files.svg}, ${result.files.png}\n`);
  }
  for (const f of result.failures) process.stderr.write(`model-distill experiment: ${f}\n`);
  return result.failures.length > 0 ? 1 : 0;
}
