/**
 * `model-distill pretrain config.ini [uniqid]`: masked-LM pre-training of the
 * native teacher (lib/pipeline/pretrain.ts). Messages and progress go to
 * stderr; stdout gets one line, the pre-training folder.
 */
import type { CommandSpec, ParsedArgs } from './args';
import { withInterruptSignal } from './interrupt';

export const pretrainCommand: CommandSpec = {
  name: 'pretrain',
  summary: 'masked-LM pre-training of the native teacher into <model.dir>/<uniqid>/pretrain/',
  usage: 'pretrain config.ini [uniqid]',
  details: `
Pre-trains the [teacher] transformer (kind = native) with BERT's masked-LM
objective on the train texts plus the pool ([data] unlabeled): 15% of the
tokens (mlm_mask_prob) are predicted, of those 80% shown as [MASK], 10% as a
random token, 10% unchanged; the output layer is tied to the embeddings.
Settings: [teacher] mlm_epochs, mlm_max_steps, mlm_batch_size,
mlm_learning_rate, mlm_warmup, mlm_mask_prob (and the architecture keys).
Progress shows steps, loss, tokens/s and the ETA. A checkpoint is written to
<run>/pretrain/checkpoint.safetensors every 5 minutes, on Ctrl-C and at the
end; running the same command again resumes from it (and a finished
pre-training is reused). When done, <run>/pretrain/encoder.safetensors holds
the weights that train fine-tunes from when [teacher] pretrain = mlm
(train also runs this step itself when it has not been done).
Prints the pre-training folder on stdout.`,
  flags: [],
  positionals: { min: 1, max: 2, names: 'config.ini [uniqid]' },
  run: runPretrain,
};

async function runPretrain(args: ParsedArgs): Promise<number> {
  const [configPath, uniqid] = args.positionals;
  // Loaded here: `--help` must work where the addon cannot load.
  const { pretrain } = require('../training') as typeof import('../training');
  await withInterruptSignal(async (signal) => {
    const summary = await pretrain(configPath, uniqid, {
      log: (line) => process.stderr.write(`${line}\n`),
      progress: process.stderr,
      signal,
    });
    process.stdout.write(`${summary.dir}\n`);
  });
  return 0;
}
