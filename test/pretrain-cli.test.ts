/**
 * Masked-LM pre-training of the native teacher on the tiny-reviews fixture
 * (a one-layer hidden-32 transformer): `model-distill pretrain` runs and the
 * MLM loss falls; an interrupted run leaves a checkpoint at the step it
 * stopped and a rerun resumes from it; corrupt or mismatched checkpoints are
 * errors naming the file; `train` with pretrain = mlm fine-tunes from the
 * pre-trained weights (its embeddings differ from a from-scratch teacher of
 * the same seed, and the run log says where it started).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadAddon } from '../lib/binding';
import { pretrainFromConfig } from '../lib/pipeline/pretrain';
import { readSafetensorsMetadata } from '../lib/safetensors/reader';
import { fails, ok, runCli, TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

function config(dir: string, teacher: string[]): string {
  return writeConfigIni(dir, tinyConfigText(TINY_REVIEWS, 'textcnn', [
    '[teacher]',
    'kind = native',
    'layers = 1',
    'hidden = 32',
    'heads = 2',
    'intermediate = 64',
    'epochs = 2',
    'learning_rate = 0.003',
    'batch_size = 16',
    'mlm_batch_size = 32',
    'mlm_learning_rate = 0.003',
    ...teacher,
  ], { textcnnDropout: false, gru: false, epochs: 1, learningRate: false }));
}

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

describe('model-distill pretrain (masked-LM pre-training of the teacher)', function () {
  this.timeout(120_000);
  let tmp: string;
  before(function () {
    try {
      loadAddon();
    } catch {
      this.skip();
    }
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-pretrain-'));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('runs, prints the pretrain folder, and the MLM loss falls', () => {
    const file = config(path.join(tmp, 'a'), ['mlm_epochs = 15']);
    const r = ok(runCli(['pretrain', file]), 'pretrain');
    const dir = path.join(tmp, 'a', 'runs', 'default', 'pretrain');
    assert.equal(r.stdout.trim(), dir);
    assert.match(r.stderr, /tokens\/s/);
    const info = readJson(path.join(dir, 'pretrain.json'));
    assert.equal(info.finished, true);
    assert.equal(info.step, info.totalSteps);
    const curve = info.lossCurve as { step: number; loss: number }[];
    assert.ok(curve.length >= 2, `loss curve ${JSON.stringify(curve)}`);
    assert.ok(curve[curve.length - 1].loss < curve[0].loss - 0.5, `MLM loss should fall: ${JSON.stringify(curve)}`);
    assert.ok(fs.existsSync(path.join(dir, 'encoder.safetensors')));
    // A rerun reuses the finished pre-training.
    assert.match(ok(runCli(['pretrain', file]), 'pretrain again').stderr, /reusing the finished masked-LM pre-training/);
  });

  it('an interrupted run leaves a checkpoint at its step and a rerun resumes from it', async () => {
    const file = config(path.join(tmp, 'b'), ['mlm_epochs = 4']);
    const dir = path.join(tmp, 'b', 'runs', 'default', 'pretrain');
    await assert.rejects(pretrainFromConfig(file, undefined, { stopAfterSteps: 7 }), /stopped at step 7\/76; checkpoint saved to .*checkpoint\.safetensors/);
    const meta = readSafetensorsMetadata(path.join(dir, 'checkpoint.safetensors'));
    assert.equal(meta.step, '7');
    assert.equal(meta.format, 'model-distill-mlm-checkpoint');
    const lines: string[] = [];
    const summary = await pretrainFromConfig(file, undefined, { log: (l) => lines.push(l) });
    assert.equal(summary.resumedFrom, 7);
    assert.equal(summary.step, 76);
    assert.ok(lines.some((l) => /resuming from .*checkpoint\.safetensors at step 7/.test(l)), lines.join('\n'));
  });

  it('a corrupt or mismatched checkpoint is an error naming the file', async () => {
    const file = config(path.join(tmp, 'c'), ['mlm_epochs = 2']);
    const checkpoint = path.join(tmp, 'c', 'runs', 'default', 'pretrain', 'checkpoint.safetensors');
    await assert.rejects(pretrainFromConfig(file, undefined, { stopAfterSteps: 2 }), /stopped at step 2/);
    // Other settings: the fingerprint differs.
    const other = config(path.join(tmp, 'c'), ['mlm_epochs = 2', 'mlm_mask_prob = 0.2']);
    fails(runCli(['pretrain', other]), 'mismatched checkpoint', new RegExp(`${checkpoint.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: this checkpoint was made with other \\[teacher\\] settings`));
    // Truncated.
    const bytes = fs.readFileSync(checkpoint);
    fs.writeFileSync(checkpoint, bytes.subarray(0, 4));
    config(path.join(tmp, 'c'), ['mlm_epochs = 2']);
    fails(runCli(['pretrain', file]), 'truncated checkpoint', /checkpoint\.safetensors: not a safetensors file/);
  });

  it('train with pretrain = mlm fine-tunes from the pre-trained weights', () => {
    const scratch = config(path.join(tmp, 'd'), []);
    ok(runCli(['train', scratch]), 'train from scratch');
    const mlm = config(path.join(tmp, 'e'), ['pretrain = mlm', 'mlm_epochs = 3']);
    const r = ok(runCli(['train', mlm]), 'train with mlm');
    assert.match(r.stderr, /starting from the masked-LM pre-trained weights .*encoder\.safetensors/);
    const log = fs.readFileSync(path.join(tmp, 'e', 'runs', 'default', 'run.log'), 'utf8');
    assert.match(log, /fine-tuning from the MLM pre-trained weights/);
    const teacherA = readJson(path.join(tmp, 'd', 'runs', 'default', 'teacher', 'config.json'));
    const teacherB = readJson(path.join(tmp, 'e', 'runs', 'default', 'teacher', 'config.json'));
    assert.equal(teacherB.training.pretrain.kind, 'mlm');
    assert.notEqual(teacherA.training.fingerprint, teacherB.training.fingerprint);
    const run = readJson(path.join(tmp, 'e', 'runs', 'default', 'run.json'));
    assert.equal(run.teacher.pretrain.steps, run.pretrain.step);
    // Same seed, same architecture: the word embeddings differ only through pre-training.
    const wA = fs.readFileSync(path.join(tmp, 'd', 'runs', 'default', 'teacher', 'weights.safetensors'));
    const wB = fs.readFileSync(path.join(tmp, 'e', 'runs', 'default', 'teacher', 'weights.safetensors'));
    assert.equal(wA.length, wB.length);
    assert.ok(!wA.equals(wB));
  });
});
