import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { loadStudentFromFolder, readModelFolder, saveModelFolder } from '../lib/model-folder';
import { NativeStudent, StudentSpec } from '../lib/student';
import { TINY_LABELS, TINY_MAX_LENGTH, TINY_VOCAB, tinyTexts, tinyTokenizer } from './helpers/tiny-task';

const spec: StudentSpec = { kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: 3, embeddingDim: 8, windows: [2, 3], filters: 8, dropout: 0.1, seed: 5 };

describe('model folder', () => {
  let tmp: string;
  let student: NativeStudent;
  const { texts, labels } = tinyTexts(300, 4);
  const rows = tinyTokenizer().encodeBatch(texts, { maxLength: TINY_MAX_LENGTH });

  before(async () => {
    student = NativeStudent.create(spec);
    await student.train({ ...rows, labels }, null, {
      epochs: 1, batchSize: 16, learningRate: 0.01, optimizer: 'adam', weightDecay: 0, warmup: 0, lrDecay: 'none', clipNorm: 0, threads: 1, seed: 1,
    });
  });
  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-folder-'));
  });
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  function save(dir: string, extra: object = {}): string {
    return saveModelFolder(dir, { student, vocabTokens: TINY_VOCAB, labels: TINY_LABELS, maxLength: TINY_MAX_LENGTH, lowercase: true, training: { epochs: 1 }, ...extra });
  }

  it('round-trips: the loaded student gives identical logits; config, vocab and class ids as written', () => {
    const dir = save(path.join(tmp, 'model'));
    // Hidden: the generation folders and the .current link (lib/model-generations.ts).
    assert.deepEqual(fs.readdirSync(dir).filter((e) => !e.startsWith('.')).sort(), ['class_id.txt', 'config.json', 'vocab.txt', 'weights.safetensors']);
    const { folder, student: loaded, vocabTokens } = loadStudentFromFolder(dir);
    assert.deepEqual(loaded.predictLogitsSync(rows), student.predictLogitsSync(rows));
    assert.deepEqual(folder.spec, spec);
    assert.deepEqual(folder.labels, TINY_LABELS);
    assert.deepEqual(vocabTokens, TINY_VOCAB);
    assert.equal(folder.config.format, 'model-distill');
    assert.equal(folder.config.formatVersion, 1);
    assert.equal(folder.config.maxLength, TINY_MAX_LENGTH);
    assert.equal(folder.config.lowercase, true);
    assert.deepEqual(folder.config.training, { epochs: 1 });
    assert.match(folder.config.packageVersion, /^\d+\.\d+\.\d+/);
    assert.ok(!Number.isNaN(Date.parse(folder.config.createdAt)));
    assert.equal(fs.readFileSync(path.join(dir, 'class_id.txt'), 'utf8'), 'neg\t0\npos\t1\nmixed\t2\n');
  });

  it('replaces an existing folder and leaves no temporary folder behind', () => {
    const dir = path.join(tmp, 'model');
    save(dir, { training: { run: 'old' } });
    fs.writeFileSync(path.join(dir, 'stale.txt'), 'from the old model');
    save(dir, { training: { run: 'new' } });
    assert.deepEqual(readModelFolder(dir).config.training, { run: 'new' });
    assert.ok(!fs.existsSync(path.join(dir, 'stale.txt')));
    assert.deepEqual(fs.readdirSync(tmp), ['model']);
  });

  it('a failed save leaves the old folder intact and no temporary folder behind', () => {
    const dir = path.join(tmp, 'model');
    save(dir, { training: { run: 'old' } });
    const before = fs.readFileSync(path.join(dir, 'weights.safetensors'));
    const busy = NativeStudent.create(spec);
    busy.dispose(); // saving its weights throws half-way through the save (after config.json and vocab.txt)
    assert.throws(() => save(dir, { student: Object.assign(Object.create(NativeStudent.prototype), busy), training: { run: 'new' } }), /disposed/);
    assert.deepEqual(readModelFolder(dir).config.training, { run: 'old' });
    assert.deepEqual(fs.readFileSync(path.join(dir, 'weights.safetensors')), before);
    assert.deepEqual(fs.readdirSync(tmp), ['model']);
  });

  it('BAD CALL – save with a vocab or labels that do not fit the student', () => {
    assert.throws(() => save(path.join(tmp, 'm'), { vocabTokens: TINY_VOCAB.slice(1) }), /Expected 26 tokens \(the student's vocabSize\) for options.vocabTokens but received 25/);
    assert.throws(() => save(path.join(tmp, 'm'), { labels: ['a', 'b'] }), /Expected 3 labels .* but received 2/);
    assert.throws(() => save(path.join(tmp, 'm'), { labels: ['a', 'a', 'b'] }), /label "a" is given twice/);
    assert.throws(() => save(path.join(tmp, 'm'), { maxLength: 0 }), /for options.maxLength but received number 0/);
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  describe('a bad folder gives an error naming the file and the problem', () => {
    let dir: string;
    beforeEach(() => {
      dir = save(path.join(tmp, 'model'));
    });
    const configPath = () => path.join(dir, 'config.json');
    const editConfig = (edit: (c: Record<string, unknown>) => void) => {
      const c = JSON.parse(fs.readFileSync(configPath(), 'utf8'));
      edit(c);
      fs.writeFileSync(configPath(), JSON.stringify(c));
    };

    it('folder missing', () => {
      assert.throws(() => readModelFolder(path.join(tmp, 'nope')), /model folder not found: .*nope/);
    });
    for (const file of ['config.json', 'weights.safetensors', 'vocab.txt', 'class_id.txt']) {
      it(`missing ${file}`, () => {
        fs.rmSync(path.join(dir, file));
        assert.throws(() => readModelFolder(dir), new RegExp(`is missing ${file.replace('.', '\\.')}`));
      });
    }
    it('config.json not JSON', () => {
      fs.writeFileSync(configPath(), '{ "format": ');
      assert.throws(() => readModelFolder(dir), /config\.json: not valid JSON/);
    });
    it('wrong format', () => {
      editConfig((c) => (c.format = 'onnx'));
      assert.throws(() => readModelFolder(dir), /config\.json: format is "onnx", expected "model-distill"/);
    });
    it('unsupported formatVersion names the supported versions', () => {
      editConfig((c) => (c.formatVersion = 3));
      assert.throws(() => readModelFolder(dir), /config\.json: formatVersion 3 is not supported \(supported: 1, 2\)/);
    });
    it('missing or bad architecture field', () => {
      editConfig((c) => delete (c.architecture as Record<string, unknown>).filters);
      assert.throws(() => readModelFolder(dir), /config\.json: bad architecture: Expected positive integer for architecture\.filters but received undefined/);
      editConfig((c) => delete c.architecture);
      assert.throws(() => readModelFolder(dir), /config\.json: missing architecture/);
    });
    it('class_id.txt disagreeing with config labels', () => {
      fs.writeFileSync(path.join(dir, 'class_id.txt'), 'neg\t0\nmixed\t1\npos\t2\n');
      assert.throws(() => readModelFolder(dir), /class_id\.txt disagrees with .*config\.json: id 1 is "mixed" there but "pos" in config\.json labels/);
      fs.writeFileSync(path.join(dir, 'class_id.txt'), 'neg\t0\npos\t1\n');
      assert.throws(() => readModelFolder(dir), /class_id\.txt disagrees with .*it has 2 classes, config\.json labels has 3/);
    });
    it('vocab size different from the architecture', () => {
      fs.appendFileSync(path.join(dir, 'vocab.txt'), 'extra\n');
      assert.throws(() => readModelFolder(dir), /vocab\.txt has 27 tokens but .*config\.json architecture\.vocabSize is 26/);
    });
    it('missing tensor and shape mismatch (from the native loader)', () => {
      editConfig((c) => ((c.architecture as Record<string, unknown>).windows = [2, 4]));
      assert.throws(() => loadStudentFromFolder(dir), /weights\.safetensors: .*missing tensor(\(s\))? conv4\.weight/);
      editConfig((c) => ((c.architecture as Record<string, unknown>).windows = [2, 3]));
      editConfig((c) => ((c.architecture as Record<string, unknown>).filters = 4));
      assert.throws(() => loadStudentFromFolder(dir), /weights\.safetensors: .*shape mismatch for conv2\.weight: file \[8, 2, 8\] vs model \[4, 2, 8\]/);
    });
    it('truncated weights', () => {
      const weights = path.join(dir, 'weights.safetensors');
      const bytes = fs.readFileSync(weights);
      fs.writeFileSync(weights, bytes.subarray(0, bytes.length - 10));
      assert.throws(() => loadStudentFromFolder(dir), /weights\.safetensors: .*truncated/i);
      fs.writeFileSync(weights, bytes.subarray(0, 4));
      assert.throws(() => readModelFolder(dir), /weights\.safetensors: truncated/);
    });
  });
});
