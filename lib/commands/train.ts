/**
 * `model-distill train config.ini [uniqid]`: runs the pipeline of
 * lib/pipeline/train.ts through the training API (lib/training.ts) and prints
 * where the run went. Messages and progress go to stderr (a bar on a terminal,
 * plain lines otherwise); stdout gets one line, the run folder, so scripts can
 * capture it.
 */
import { flagString, type CommandSpec, type ParsedArgs } from './args';
import { withInterruptSignal } from './interrupt';

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train the students a config describes into <model.dir>/<uniqid>/',
  usage: 'train config.ini [uniqid] [--queue redis://HOST:PORT]',
  details: `
Reads config.ini (see examples/config.ini for every key), then:
  1. reads the class ids, the train and eval files (a bad row is an error naming
     its line) and the vocab ([data] vocab; when that file does not exist it is
     built from train + unlabeled and written there);
  2. teacher ([teacher] kind): none (the students train alone), native (a
     transformer fine-tuned here, reused when its settings and data are
     unchanged) or onnx (a model exported elsewhere), with [teacher] ensemble
     members averaged in; it scores the train rows and, with [distill]
     use_unlabeled, the pool, into a resumable soft-label cache;
  3. trains each student of [model] students (distilled per [distill]), keeps
     its best epoch on the eval file and saves it as a model folder.
uniqid names the run: absent -> "default"; '\${time}' (quoted) -> today as
YYYYMMDD; anything else as given. Everything goes under <model.dir>/<uniqid>/:
one folder per student, config.resolved.json, run.log and run.json (per-epoch
metrics, timings, data counts, versions). Training the same uniqid again
replaces its models. Prints the run folder on stdout.`,
  flags: [{ name: 'queue', type: 'string', valueName: 'URL', description: 'score the pool on model-distill workers through this Redis queue (as [distill] queue; docs/scaling.md)' }],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runTrain,
};

async function runTrain(args: ParsedArgs): Promise<number> {
  const [configPath, uniqid] = args.positionals;
  const queue = flagString(args, 'queue');
  // A bad URL fails now, not after the teacher has trained.
  if (queue !== undefined) (require('../queue/connection') as typeof import('../queue/connection')).parseQueueUrl(queue, '--queue');
  // Loaded here: `--help` must work where the addon cannot load.
  const { train } = require('../training') as typeof import('../training');
  await withInterruptSignal(async (signal) => {
    const summary = await train(configPath, uniqid, {
      log: (line) => process.stderr.write(`${line}\n`),
      progress: process.stderr,
      signal,
      queue,
    });
    process.stdout.write(`${summary.runDir}\n`);
  });
  return 0;
}
