/**
 * Masked-LM pre-training of the native teacher (lib/pipeline/pretrain.ts) on
 * the tiny-reviews fixture with a 1-layer, hidden-32 transformer and 40 steps:
 * a run stopped part way resumes at its saved step and ends with the same
 * encoder weights, bit for bit, as an uninterrupted run (the checkpoint holds
 * everything; all randomness derives from the seed and the step). The command,
 * the loss curve, reuse, bad checkpoints and `train` with pretrain = mlm are
 * covered by test/pretrain-cli.test.ts.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { addonAvailable } from '../lib/binding';
import { loadConfig } from '../lib/config';
import { pretrainFromConfig } from '../lib/pipeline/pretrain';
import { checkTeacherSupported } from '../lib/pipeline/teacher';
import { TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const STEPS = 40;

/** <dir>/config.ini: tiny students and a tiny native teacher with MLM settings. */
function pretrainConfig(dir: string, teacher: string[] = []): string {
  return writeConfigIni(dir, tinyConfigText(TINY_REVIEWS, 'textcnn', [
    '[teacher]',
    ...(teacher.some((l) => l.startsWith('kind')) ? [] : ['kind = native']),
    'layers = 1',
    'hidden = 32',
    'heads = 2',
    'intermediate = 64',
    'max_length = 32',
    'epochs = 2',
    'learning_rate = 0.003',
    'batch_size = 16',
    'mlm_batch_size = 16',
    'mlm_learning_rate = 0.003',
    `mlm_max_steps = ${STEPS}`,
    ...teacher,
  ], { textcnnDropout: false, gru: false, epochs: 1 }));
}

/** A safetensors file's tensors (header entries and data), without its metadata (which names the config file). */
function tensorsOf(file: string): { header: string; data: Buffer } {
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  delete header.__metadata__;
  return { header: JSON.stringify(header), data: bytes.subarray(8 + n) };
}

describe('masked-LM pre-training of the teacher', function () {
  let tmp: string;
  before(function () {
    if (!addonAvailable()) this.skip();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-pretrain-'));
  });
  after(() => {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('an interrupted run resumes at the saved step and ends with the same encoder', async () => {
    const whole = await pretrainFromConfig(pretrainConfig(path.join(tmp, 'whole')), undefined, { log: () => {} });
    assert.equal(whole.resumedFrom, 0);
    assert.equal(whole.step, STEPS);
    const uninterruptedEncoder = whole.encoder;
    const config = pretrainConfig(path.join(tmp, 'stopped'));
    const lines: string[] = [];
    await assert.rejects(pretrainFromConfig(config, undefined, { log: (l) => lines.push(l), stopAfterSteps: 15 }), /stopped at step 15\/40/);
    const dir = path.join(tmp, 'stopped', 'runs', 'default', 'pretrain');
    assert.ok(fs.existsSync(path.join(dir, 'checkpoint.safetensors')), 'checkpoint saved on stop');
    assert.ok(!fs.existsSync(path.join(dir, 'encoder.safetensors')), 'no encoder before the end');
    const resumed: string[] = [];
    const summary = await pretrainFromConfig(config, undefined, { log: (l) => resumed.push(l) });
    assert.equal(summary.resumedFrom, 15);
    assert.equal(summary.step, STEPS);
    assert.ok(resumed.some((l) => /resuming .*at step 15/.test(l)), resumed.join('\n'));
    const a = tensorsOf(summary.encoder);
    const b = tensorsOf(uninterruptedEncoder);
    assert.equal(a.header, b.header);
    assert.ok(a.data.equals(b.data), 'resumed encoder weights equal the uninterrupted run\'s, bit for bit');
  });

  it('refuses pretrain = mlm with kind = onnx or with init_checkpoint, naming the key', () => {
    // kind = onnx: the config itself is refused (lib/config/parse.ts), pointing at the pretrain line.
    assert.throws(() => loadConfig(pretrainConfig(path.join(tmp, 'onnx'), ['pretrain = mlm', 'kind = onnx', 'path = teacher.onnx'])), /config\.ini:\d+: \[teacher\] pretrain = mlm needs kind = native \(kind is onnx\)/);
    const ckpt = loadConfig(pretrainConfig(path.join(tmp, 'ckpt'), ['pretrain = mlm', `init_checkpoint = ${tmp}`]));
    assert.throws(() => checkTeacherSupported(ckpt), /\[teacher\] pretrain: = mlm .*cannot be combined with init_checkpoint/);
  });
});
