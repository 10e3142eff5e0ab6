/**
 * The teacher's ONNX export (lib/onnx/export-teacher.ts) run by onnxruntime-node gives the native
 * transformer's logits (max abs difference <= 1e-4) on ragged batches padded with an
 * attention_mask, for a pooled BERT-style teacher imported from a random checkpoint (logits of
 * order 1, LayerNorm eps 1e-5, 4 segment types) and a fresh teacher without a pooler; with and
 * without the token_type_ids input. Bad calls name the bad value.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ort from 'onnxruntime-node';

import { saveModelFolder } from '../lib/model-folder';
import { exportTeacherFolderOnnx, exportTeacherOnnx, exportTeacherOnnxBytes } from '../lib/onnx/export-teacher';
import { readSafetensors } from '../lib/safetensors/reader';
import { writeSafetensors } from '../lib/safetensors/writer';
import { createTeacherFromCheckpoint } from '../lib/pipeline/checkpoint-import';
import { NativeStudent } from '../lib/student';
import { writeCheckpoint } from './helpers/bert-checkpoint';
import { rng, TINY_LABELS, TINY_VOCAB } from './helpers/tiny-task';

const MAX_POSITIONS = 24;

/** Ragged rows: [CLS] random tokens [SEP], lengths from 1 to maxLen (a few at the extremes), zero-padded to `width`. */
function raggedRows(n: number, maxLen: number, width: number, seed: number): { ids: Int32Array; lengths: Int32Array } {
  const r = rng(seed);
  const ids = new Int32Array(n * width);
  const lengths = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const L = i === 0 ? maxLen : i === 1 ? 1 : i === 2 ? 2 : 1 + Math.floor(r() * maxLen);
    lengths[i] = L;
    for (let t = 0; t < L; t++) ids[i * width + t] = t === 0 ? 2 : t === L - 1 ? 3 : 5 + Math.floor(r() * (TINY_VOCAB.length - 5));
  }
  return { ids, lengths };
}

async function onnxLogits(session: ort.InferenceSession, ids: Int32Array, lengths: Int32Array, width: number, withTypes: boolean): Promise<Float32Array> {
  const B = lengths.length;
  const mask = new BigInt64Array(B * width);
  for (let b = 0; b < B; b++) for (let t = 0; t < lengths[b]; t++) mask[b * width + t] = 1n;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (v) => BigInt(v)), [B, width]),
    attention_mask: new ort.Tensor('int64', mask, [B, width]),
  };
  if (withTypes) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(B * width), [B, width]);
  const out = await session.run(feeds);
  assert.deepEqual(out.logits.dims, [B, 3]);
  return out.logits.data as Float32Array;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('teacher ONNX export', () => {
  let tmp: string;
  let imported: NativeStudent;
  let fresh: NativeStudent;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-teacher-export-'));
    const ckpt = path.join(tmp, 'ckpt');
    writeCheckpoint(ckpt, { prefix: 'bert.', vocab: TINY_VOCAB, hidden: 32, layers: 2, heads: 4, intermediate: 48, maxPositions: MAX_POSITIONS, typeVocabSize: 4, layerNormEps: 1e-5, seed: 21 });
    imported = createTeacherFromCheckpoint(ckpt, { numClasses: 3, seed: 5, dropout: 0.1 }).student;
    // The fresh head (N(0, 0.02)) gives logits of about 0.1; scale it so they are of order 1, as a trained teacher's.
    const file = path.join(tmp, 'scaled.safetensors');
    imported.saveWeights(file);
    const weights = readSafetensors(file);
    weights.get('classifier.weight')!.data.forEach((v, i, a) => (a[i] = 40 * v));
    writeSafetensors(file, weights);
    imported.loadWeights(file);
    fresh = NativeStudent.create({ kind: 'transformer', vocabSize: TINY_VOCAB.length, numClasses: 3, hidden: 16, layers: 3, heads: 2, intermediate: 40, maxPositions: MAX_POSITIONS, dropout: 0.1, pooler: false, seed: 9 });
  });
  after(() => {
    imported.dispose();
    fresh.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  for (const withTypes of [true, false]) {
    for (const which of ['imported (pooler, eps 1e-5)', 'fresh (no pooler)']) {
      it(`${which}${withTypes ? '' : ', no token_type_ids input'}: onnxruntime-node gives the native logits on ragged padded batches`, async () => {
        const student = which.startsWith('imported') ? imported : fresh;
        const session = await ort.InferenceSession.create(exportTeacherOnnxBytes(student, { tokenTypeIds: withTypes }));
        try {
          assert.deepEqual(session.inputNames, withTypes ? ['input_ids', 'attention_mask', 'token_type_ids'] : ['input_ids', 'attention_mask']);
          assert.deepEqual(session.outputNames, ['logits']);
          const n = 37;
          const tight = raggedRows(n, MAX_POSITIONS, MAX_POSITIONS, 4);
          const native = student.predictLogitsSync({ ...tight, maxLength: MAX_POSITIONS });
          const reference = student.predictLogitsSync({ ...tight, maxLength: MAX_POSITIONS }, { path: 'reference' });
          let largest = 0;
          for (const v of native) largest = Math.max(largest, Math.abs(v));
          if (student === imported) assert.ok(largest > 0.5, `logits of order 1 (largest ${largest})`);
          const a = await onnxLogits(session, tight.ids, tight.lengths, MAX_POSITIONS, withTypes);
          assert.ok(maxAbsDiff(a, native) <= 1e-4, `fast path: max abs diff ${maxAbsDiff(a, native)}`);
          assert.ok(maxAbsDiff(a, reference) <= 1e-4, `reference path: max abs diff ${maxAbsDiff(a, reference)}`);
          // Short rows padded far past the longest of them (to the widest row the position table allows): same logits.
          const width = MAX_POSITIONS;
          const short = raggedRows(n, 9, width, 8);
          const shortNative = student.predictLogitsSync({ ...short, maxLength: width });
          const b = await onnxLogits(session, short.ids, short.lengths, width, withTypes);
          assert.ok(maxAbsDiff(b, shortNative) <= 1e-4, `rows of <= 9 tokens padded to ${width}: max abs diff ${maxAbsDiff(b, shortNative)}`);
          // One row, no padding at all.
          const one = raggedRows(1, 7, 7, 3);
          const c = await onnxLogits(session, one.ids, one.lengths, 7, withTypes);
          assert.ok(maxAbsDiff(c, student.predictLogitsSync({ ...one, maxLength: 7 })) <= 1e-4);
        } finally {
          await session.release();
        }
      });
    }
  }

  it('exportTeacherOnnx writes atomically (no temporary file left) and replaces an older file', () => {
    const out = path.join(tmp, 'out', 'teacher.onnx');
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, 'old');
    assert.equal(exportTeacherOnnx(imported, out), out);
    assert.ok(fs.readFileSync(out).equals(Buffer.from(exportTeacherOnnxBytes(imported))));
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['teacher.onnx']);
  });

  it('exports a saved teacher folder with its labels in the metadata; same graph as from the student', async () => {
    const dir = path.join(tmp, 'teacher-folder');
    saveModelFolder(dir, { student: imported, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: 16, lowercase: true, addSpecialTokens: true });
    const out = exportTeacherFolderOnnx(dir, path.join(tmp, 'folder.onnx'));
    const session = await ort.InferenceSession.create(out);
    try {
      const rows = raggedRows(5, 16, 16, 1);
      const a = await onnxLogits(session, rows.ids, rows.lengths, 16, true);
      assert.ok(maxAbsDiff(a, imported.predictLogitsSync({ ...rows, maxLength: 16 })) <= 1e-4);
    } finally {
      await session.release();
    }
    assert.ok(fs.readFileSync(out).includes(Buffer.from(JSON.stringify(TINY_LABELS))), 'labels in metadata_props');
  });

  it('BAD CALL – a student that is not a transformer, a bad path, a bad option', () => {
    const cnn = NativeStudent.create({ kind: 'textcnn', vocabSize: 10, numClasses: 2, embeddingDim: 4, windows: [2], filters: 3, dropout: 0, seed: 1 });
    try {
      assert.throws(() => exportTeacherOnnxBytes(cnn), /Expected a NativeStudent of kind 'transformer' .* but received kind 'textcnn'/);
    } finally {
      cnn.dispose();
    }
    assert.throws(() => exportTeacherOnnxBytes({} as NativeStudent), /Expected a NativeStudent but received an object/);
    assert.throws(() => exportTeacherOnnx(imported, ''), /Expected a non-empty string for outPath but received string ""/);
    assert.throws(() => exportTeacherOnnxBytes(imported, { tokenTypeIds: 'yes' as unknown as boolean }), /Expected boolean for options.tokenTypeIds but received string "yes"/);
  });
});
