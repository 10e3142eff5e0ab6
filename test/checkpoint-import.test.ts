/**
 * Checkpoint import (lib/pipeline/checkpoint-import.ts): small Hugging Face-style BERT and ERNIE
 * checkpoints built here with random tensors are imported, and the native teacher's logits are
 * compared with a plain double-precision BERT forward over the checkpoint's own tensors
 * (test/helpers/bert-checkpoint.ts), so the name mapping, the ERNIE task-type folding, the
 * LayerNorm eps, the dtype conversion and the vocabulary cut are each proven by numbers. Bad
 * checkpoints give one error naming every missing and unexpected tensor, the tensor with a
 * wrong shape, and the bad config.json key.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readSafetensors } from '../lib/safetensors/reader';
import { writeSafetensors } from '../lib/safetensors/writer';
import { createTeacherFromCheckpoint, readCheckpoint, type CheckpointImportOptions } from '../lib/pipeline/checkpoint-import';
import type { NativeStudent } from '../lib/student';
import { Tokenizer } from '../lib/tokenizer';
import { erf, referenceLogits, writeCheckpoint, type BertTensors, type CheckpointSpec } from './helpers/bert-checkpoint';
import { TINY_VOCAB, tinyTexts } from './helpers/tiny-task';

/**
 * Logits here are about 0.1 (the fresh head is N(0, 0.02)); float32 against double stays within
 * ~1e-7 of them, so 1e-6 leaves room for summation order and still catches a wrong eps or a
 * dropped embedding term.
 */
const TOLERANCE = 1e-6;
const OPTIONS: CheckpointImportOptions = { numClasses: 3, seed: 11, dropout: 0.1, maxLength: 16 };
const BASE: Omit<CheckpointSpec, 'prefix' | 'seed'> = { vocab: TINY_VOCAB, hidden: 16, layers: 2, heads: 4, intermediate: 24, maxPositions: 20 };

/** The student's classifier head (fresh, from its seed), read back from a save. */
function classifierOf(student: NativeStudent, tmp: string): { weight: Float32Array; bias: Float32Array } {
  const file = path.join(tmp, `head-${Math.random().toString(36).slice(2)}.safetensors`);
  student.saveWeights(file);
  const t = readSafetensors(file, (n) => n.startsWith('classifier.'));
  fs.rmSync(file);
  return { weight: t.get('classifier.weight')!.data, bias: t.get('classifier.bias')!.data };
}

/** Max |native - reference| over some tiny-task texts, tokenised [CLS] ... [SEP] with the checkpoint's vocab. */
function compareWithReference(dir: string, tensors: BertTensors, o: { eps: number; heads: number; pooler: boolean; taskType: boolean }, tmp: string): number {
  const { student, checkpoint } = createTeacherFromCheckpoint(dir, OPTIONS);
  try {
    const tokenizer = Tokenizer.fromTokens(checkpoint.vocabTokens, { lowercase: checkpoint.lowercase });
    const { texts } = tinyTexts(12, 3);
    const enc = tokenizer.encodeBatch(texts, { maxLength: 16 });
    const native = student.predictLogitsSync({ ids: enc.ids, lengths: enc.lengths, maxLength: 16 });
    const classifier = classifierOf(student, tmp);
    let worst = 0;
    let largest = 0;
    for (let i = 0; i < texts.length; i++) {
      const ids = enc.ids.subarray(i * 16, i * 16 + enc.lengths[i]);
      const ref = referenceLogits(tensors, ids, { ...o, classifier });
      ref.forEach((v, c) => {
        worst = Math.max(worst, Math.abs(v - native[i * 3 + c]));
        largest = Math.max(largest, Math.abs(v));
      });
    }
    assert.ok(largest > 0.05, `logits are not all near zero (largest ${largest}), so the comparison means something`);
    return worst;
  } finally {
    student.dispose();
  }
}

describe('checkpoint import ([teacher] init_checkpoint)', () => {
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-ckpt-import-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the reference erf is exact enough to be an oracle', () => {
    // Python's math.erf at points on both sides of the series / continued-fraction switch at 2.5
    const expected: [number, number][] = [[1, 0.8427007929497149], [-0.3, -0.3286267594591274], [2.4, 0.999311486103355], [2.6, 0.9997639655834707], [3, 0.9999779095030014]];
    for (const [x, v] of expected) assert.ok(Math.abs(erf(x) - v) < 1e-14, `erf(${x}) = ${erf(x)}, expected ${v}`);
  });

  it('a BertForSequenceClassification-named checkpoint (bert.…, pooler) gives the plain BERT forward of its tensors', () => {
    const dir = path.join(tmp, 'bert');
    const tensors = writeCheckpoint(dir, { ...BASE, prefix: 'bert.', seed: 1 });
    const c = readCheckpoint(dir, OPTIONS);
    assert.equal(c.prefix, 'bert.');
    assert.equal(c.spec.pooler, true);
    assert.deepEqual(c.ignored, []);
    assert.deepEqual(c.adaptations, []);
    assert.match(c.sha256, /^[0-9a-f]{64}$/);
    const diff = compareWithReference(dir, tensors, { eps: 1e-12, heads: 4, pooler: true, taskType: false }, tmp);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  });

  // eps 1e-3 (ERNIE ports use 1e-5 or 1e-12) so that ignoring it would show well above the tolerance.
  it('an ERNIE checkpoint (ernie.…, use_task_id, 4 segment types, eps 1e-3): task-type row 0 folded in, same logits as ERNIE adds it', () => {
    const dir = path.join(tmp, 'ernie');
    const tensors = writeCheckpoint(dir, { ...BASE, prefix: 'ernie.', seed: 2, useTaskId: true, typeVocabSize: 4, layerNormEps: 1e-3 });
    const c = readCheckpoint(dir, OPTIONS);
    assert.equal(c.prefix, 'ernie.');
    assert.equal(c.modelType, 'ernie');
    assert.equal(c.spec.typeVocabSize, 4);
    assert.equal(c.spec.layerNormEps, 1e-3);
    assert.match(c.adaptations.join('\n'), /task_type_embeddings.*folded into the position embeddings/);
    const diff = compareWithReference(dir, tensors, { eps: 1e-3, heads: 4, pooler: true, taskType: true }, tmp);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
    // Both matter: without the task-type vector, or with BERT's eps, the reference is far off.
    const { student } = createTeacherFromCheckpoint(dir, OPTIONS);
    try {
      const ids = Int32Array.from([2, 6, 18, 3]);
      const native = student.predictLogitsSync({ ids, lengths: Int32Array.from([4]), maxLength: 4 });
      const classifier = classifierOf(student, tmp);
      const off = (o: { eps: number; taskType: boolean }) => {
        const ref = referenceLogits(tensors, ids, { ...o, heads: 4, pooler: true, classifier });
        return Math.max(...ref.map((v, i) => Math.abs(v - native[i])));
      };
      assert.ok(off({ eps: 1e-3, taskType: false }) > 100 * TOLERANCE, 'the task-type embeddings change the logits');
      assert.ok(off({ eps: 1e-12, taskType: true }) > 10 * TOLERANCE, `the eps changes the logits (${off({ eps: 1e-12, taskType: true })})`);
    } finally {
      student.dispose();
    }
  });

  it('a BertModel checkpoint (no prefix, no pooler) with MLM heads and a position_ids buffer: heads ignored and listed, classifier on [CLS]', () => {
    const dir = path.join(tmp, 'mlm');
    const tensors = writeCheckpoint(dir, { ...BASE, prefix: '', seed: 3, pooler: false, mlmHead: true });
    const c = readCheckpoint(dir, OPTIONS);
    assert.equal(c.prefix, '');
    assert.equal(c.spec.pooler, false);
    assert.deepEqual(c.ignored.sort(), ['cls.predictions.bias', 'cls.predictions.transform.LayerNorm.weight', 'cls.predictions.transform.dense.weight', 'embeddings.position_ids']);
    const diff = compareWithReference(dir, tensors, { eps: 1e-12, heads: 4, pooler: false, taskType: false }, tmp);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  });

  it('a checkpoint with TensorFlow-era LayerNorm.gamma / LayerNorm.beta names (bert-base-chinese style) reads them as weight / bias', () => {
    const dir = path.join(tmp, 'gamma-beta');
    const tensors = writeCheckpoint(dir, { ...BASE, prefix: 'bert.', seed: 8, mlmHead: true });
    const file = path.join(dir, 'model.safetensors');
    const t = readSafetensors(file, (n) => n !== 'bert.embeddings.position_ids');
    const renamed = new Map([...t].map(([n, v]) => [n.replace(/LayerNorm\.weight$/, 'LayerNorm.gamma').replace(/LayerNorm\.bias$/, 'LayerNorm.beta'), v]));
    writeSafetensors(file, renamed);
    const c = readCheckpoint(dir, OPTIONS);
    assert.ok(c.mapping.has('bert.embeddings.LayerNorm.gamma') && c.mapping.get('bert.encoder.layer.1.output.LayerNorm.beta') === 'bert.encoder.layer.1.output.LayerNorm.bias');
    assert.match(c.adaptations.join('\n'), /11 LayerNorm tensors stored as gamma\/beta read as weight\/bias/);
    assert.ok(c.ignored.includes('cls.predictions.transform.LayerNorm.gamma'), 'ignored tensors are listed under their stored names');
    const diff = compareWithReference(dir, tensors, { eps: 1e-12, heads: 4, pooler: true, taskType: false }, tmp);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  });

  it('F16 and BF16 checkpoints are converted to float32 (logits of the rounded tensors)', () => {
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = path.join(tmp, dtype);
      writeCheckpoint(dir, { ...BASE, prefix: 'bert.', seed: 4, dtype });
      const c = readCheckpoint(dir, OPTIONS);
      assert.deepEqual(c.dtypes, [dtype]);
      assert.match(c.adaptations.join('\n'), new RegExp(`${dtype} tensors converted to float32`));
      // The oracle reads the stored (rounded) values back, unprefixed.
      const stored: BertTensors = new Map();
      for (const [name, t] of readSafetensors(path.join(dir, 'model.safetensors'))) stored.set(name.replace(/^bert\./, ''), t);
      const diff = compareWithReference(dir, stored, { eps: 1e-12, heads: 4, pooler: true, taskType: false }, tmp);
      assert.ok(diff <= TOLERANCE, `${dtype}: max abs diff ${diff}`);
    }
  });

  it('an embedding table larger than vocab.txt is cut to the vocabulary', () => {
    const dir = path.join(tmp, 'padded-vocab');
    const tensors = writeCheckpoint(dir, { ...BASE, prefix: 'bert.', seed: 5, vocabSize: TINY_VOCAB.length + 6 });
    const c = readCheckpoint(dir, OPTIONS);
    assert.equal(c.spec.vocabSize, TINY_VOCAB.length);
    assert.match(c.adaptations.join('\n'), new RegExp(`cut from vocab_size ${TINY_VOCAB.length + 6} to the ${TINY_VOCAB.length} tokens`));
    const diff = compareWithReference(dir, tensors, { eps: 1e-12, heads: 4, pooler: true, taskType: false }, tmp);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  });

  it('the fresh classifier head comes from the seed: same seed, same head; another seed, another head', () => {
    const dir = path.join(tmp, 'bert');
    const heads = [11, 11, 12].map((seed) => {
      const { student } = createTeacherFromCheckpoint(dir, { ...OPTIONS, seed });
      try {
        return classifierOf(student, tmp).weight;
      } finally {
        student.dispose();
      }
    });
    assert.deepEqual(heads[0], heads[1]);
    assert.notDeepEqual(heads[0], heads[2]);
  });

  it('tokenizer_config.json do_lower_case decides the case folding', () => {
    const dir = path.join(tmp, 'cased');
    writeCheckpoint(dir, { ...BASE, prefix: 'bert.', seed: 6, doLowerCase: false });
    const c = readCheckpoint(dir, OPTIONS);
    assert.equal(c.lowercase, false);
    assert.match(c.lowercaseSource, /tokenizer_config.json/);
    assert.equal(readCheckpoint(path.join(tmp, 'bert'), OPTIONS).lowercase, true);
  });

  describe('bad checkpoints', () => {
    /** A fresh copy of a good BERT checkpoint to damage. */
    function good(name: string): string {
      const dir = path.join(tmp, 'bad', name);
      writeCheckpoint(dir, { ...BASE, prefix: 'bert.', seed: 7 });
      return dir;
    }
    function rewriteTensors(dir: string, edit: (t: Map<string, { shape: number[]; data: Float32Array }>) => void): void {
      const file = path.join(dir, 'model.safetensors');
      const t = readSafetensors(file);
      edit(t);
      writeSafetensors(file, t);
    }
    function editConfig(dir: string, edit: (c: Record<string, unknown>) => void): void {
      const file = path.join(dir, 'config.json');
      const c = JSON.parse(fs.readFileSync(file, 'utf8'));
      edit(c);
      fs.writeFileSync(file, JSON.stringify(c));
    }

    it('lists every missing and every unexpected tensor by name, in one error', () => {
      const dir = good('missing');
      rewriteTensors(dir, (t) => {
        t.delete('bert.encoder.layer.1.attention.self.key.weight');
        t.delete('bert.embeddings.LayerNorm.bias');
        t.set('bert.encoder.layer.2.output.dense.bias', { shape: [16], data: new Float32Array(16) });
        t.set('qa_outputs.weight', { shape: [2, 16], data: new Float32Array(32) });
      });
      assert.throws(
        () => readCheckpoint(dir, OPTIONS),
        (err: Error) =>
          err.message.includes('model.safetensors') &&
          /missing 2 tensor\(s\): bert\.embeddings\.LayerNorm\.bias, bert\.encoder\.layer\.1\.attention\.self\.key\.weight/.test(err.message) &&
          /unexpected 2 tensor\(s\): bert\.encoder\.layer\.2\.output\.dense\.bias, qa_outputs\.weight/.test(err.message),
      );
    });

    it('a shape that disagrees with config.json names the tensor and both shapes', () => {
      const dir = good('shape');
      rewriteTensors(dir, (t) => t.set('bert.encoder.layer.0.intermediate.dense.weight', { shape: [16, 16], data: new Float32Array(256) }));
      assert.throws(() => readCheckpoint(dir, OPTIONS), /config\.json: bert\.encoder\.layer\.0\.intermediate\.dense\.weight is \[16, 16\], expected \[24, 16\]/);
    });

    it('config.json: hidden_act other than gelu, a missing key, an unsupported model_type', () => {
      const act = good('act');
      editConfig(act, (c) => (c.hidden_act = 'relu'));
      assert.throws(() => readCheckpoint(act, OPTIONS), /config\.json: hidden_act "relu" is not supported/);
      const key = good('key');
      editConfig(key, (c) => delete c.intermediate_size);
      assert.throws(() => readCheckpoint(key, OPTIONS), /config\.json: expected a positive integer for intermediate_size but found nothing/);
      const type = good('type');
      editConfig(type, (c) => (c.model_type = 'roberta'));
      assert.throws(() => readCheckpoint(type, OPTIONS), /model_type "roberta" is not supported/);
    });

    it('no weights file, no vocab.txt, a vocabulary without [CLS], max_length beyond the positions', () => {
      const noWeights = good('no-weights');
      fs.renameSync(path.join(noWeights, 'model.safetensors'), path.join(noWeights, 'pytorch_model.bin'));
      assert.throws(() => readCheckpoint(noWeights, OPTIONS), /has no model\.safetensors or weights\.safetensors \(it holds: config\.json, pytorch_model\.bin, vocab\.txt\); PyTorch \.bin/);
      const noVocab = good('no-vocab');
      fs.rmSync(path.join(noVocab, 'vocab.txt'));
      assert.throws(() => readCheckpoint(noVocab, OPTIONS), /has no vocab\.txt/);
      const noCls = good('no-cls');
      fs.writeFileSync(path.join(noCls, 'vocab.txt'), TINY_VOCAB.map((t) => (t === '[CLS]' ? 'cls' : t)).join('\n') + '\n');
      assert.throws(() => readCheckpoint(noCls, OPTIONS), /vocab\.txt: has no \[CLS\]/);
      assert.throws(() => readCheckpoint(good('long'), { ...OPTIONS, maxLength: 64 }), /max_length = 64 exceeds the checkpoint's max_position_embeddings = 20/);
    });

    it('a file that is not a BERT/ERNIE checkpoint says so', () => {
      const dir = good('roberta');
      rewriteTensors(dir, (t) => {
        for (const [name, v] of [...t]) {
          t.delete(name);
          t.set(name.replace(/^bert\./, 'roberta.'), v);
        }
      });
      assert.throws(() => readCheckpoint(dir, OPTIONS), /not a BERT\/ERNIE checkpoint with Hugging Face names \(it starts with: roberta\./);
    });
  });
});
