/**
 * [teacher] pretrained_vectors: the native transformer's word embeddings start from a
 * word2vec file. The config errors (wrong kind, combined with a checkpoint or MLM, a
 * dimension other than hidden), the embeddings the teacher starts from (trained at a
 * vanishing learning rate, the saved rows are the vectors), the record in the teacher's
 * folder, and reuse by fingerprint (another vectors file is another teacher).
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { parseConfig } from '../lib/config';
import { readSafetensors } from '../lib/safetensors/reader';
import { trainFromConfig } from '../lib/pipeline/train';
import { readVocabFile } from '../lib/vocab';
import { REPO_ROOT, TINY_REVIEWS } from './helpers/cli';
import { configErrors, tinyConfigText, writeConfigIni } from './helpers/tiny-config';

const VECTORS = path.join(REPO_ROOT, 'test', 'fixtures', 'tiny-vectors.vec'); // 4-dimensional: 好, 差, ...
const TINY_TRANSFORMER = ['kind = native', 'layers = 1', 'hidden = 4', 'heads = 2', 'intermediate = 8', 'epochs = 1', 'batch_size = 16'];

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-teacher-vectors-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('teacher pretrained_vectors: config', () => {
  const base = tinyConfigText(TINY_REVIEWS, 'textcnn', ['[teacher]']);
  const lineOf = (text: string) => text.split('\n').findIndex((l) => l.startsWith('pretrained_vectors')) + 1;

  it('BAD CONFIG: other kinds, with init_checkpoint or pretrain = mlm, a dimension other than hidden, a missing file', () => {
    let text = base + `kind = none\npretrained_vectors = ${VECTORS}\n`;
    assert.match(configErrors(text), new RegExp(`config\\.ini:${lineOf(text)}: \\[teacher\\] pretrained_vectors is only used with kind = native \\(kind is none\\)`));
    text = base + `kind = native\nhidden = 4\nheads = 2\npretrain = mlm\npretrained_vectors = ${VECTORS}\n`;
    assert.match(configErrors(text), /\[teacher\] pretrained_vectors cannot be combined with pretrain = mlm/);
    text = base + `kind = native\npretrained_vectors = ${VECTORS}\n`;
    assert.match(
      configErrors(text),
      new RegExp(`config\\.ini:${lineOf(text)}: \\[teacher\\] pretrained_vectors: .*tiny-vectors\\.vec has 4-dimensional vectors but \\[teacher\\] hidden is 256; set hidden = 4`),
    );
    text = base + 'kind = native\nhidden = 4\nheads = 2\npretrained_vectors = /nonexistent/v.vec\n';
    assert.match(configErrors(text), /\[teacher\] pretrained_vectors file not found: \/nonexistent\/v\.vec/);
    assert.equal(parseConfig(base + `kind = native\nhidden = 4\nheads = 2\npretrained_vectors = ${VECTORS}\n`, '/x/config.ini').teacher.pretrained_vectors, VECTORS);
  });
});

describe('teacher pretrained_vectors: training', function () {
  this.timeout(120_000);

  it('starts the word embeddings from the vectors, records them, and is part of the teacher\'s fingerprint', async () => {
    const dir = path.join(tmp, 'run');
    // A learning rate that moves nothing: the saved embeddings are the ones the teacher started from.
    const config = writeConfigIni(
      dir,
      tinyConfigText(TINY_REVIEWS, 'textcnn', ['[teacher]', ...TINY_TRANSFORMER, 'learning_rate = 1e-12', `pretrained_vectors = ${VECTORS}`, '[distill]', 'enabled = false']),
    );
    const run = (await trainFromConfig(config, 'v')).runDir;
    const teacherDir = path.join(run, 'teacher');
    const folderConfig = JSON.parse(fs.readFileSync(path.join(teacherDir, 'config.json'), 'utf8'));
    const vocab = readVocabFile(path.join(teacherDir, 'vocab.txt'));
    const vectors = new Map(
      fs.readFileSync(VECTORS, 'utf8').split('\n').slice(1).filter((l) => l).map((l) => {
        const [token, ...values] = l.split(' ');
        return [token, values.map(Number)] as const;
      }),
    );
    const inVocab = [...vectors.keys()].filter((t) => vocab.includes(t));
    assert.ok(inVocab.length >= 2, `the fixture vocabulary holds some of the vectors' tokens (${inVocab.join(', ')})`);
    assert.equal(folderConfig.training.pretrainedVectors.source, VECTORS);
    assert.equal(folderConfig.training.pretrainedVectors.found, inVocab.length);

    const embeddings = readSafetensors(path.join(teacherDir, 'weights.safetensors'), (n) => n === 'bert.embeddings.word_embeddings.weight').get('bert.embeddings.word_embeddings.weight');
    assert.ok(embeddings, 'the teacher has word embeddings');
    assert.deepEqual(embeddings.shape, [vocab.length, 4]);
    for (const token of inVocab) {
      const row = vocab.indexOf(token);
      const got = Array.from(embeddings.data.subarray(row * 4, row * 4 + 4));
      got.forEach((g, i) => assert.ok(Math.abs(g - vectors.get(token)![i]) < 1e-5, `${token}[${i}]: ${g} vs ${vectors.get(token)![i]}`));
    }
    assert.match(fs.readFileSync(path.join(run, 'run.log'), 'utf8'), /teacher: word embeddings from .*tiny-vectors\.vec: \d+ of \d+ vocabulary tokens/);

    const again = JSON.parse(fs.readFileSync(path.join((await trainFromConfig(config, 'v')).runDir, 'run.json'), 'utf8'));
    assert.equal(again.teacher.reused, true, 'same vectors, same teacher');
    const otherVectors = path.join(tmp, 'other.vec');
    fs.writeFileSync(otherVectors, fs.readFileSync(VECTORS, 'utf8').replace(/0\.1 /, '0.5 '));
    fs.writeFileSync(config, fs.readFileSync(config, 'utf8').replace(VECTORS, otherVectors));
    const other = JSON.parse(fs.readFileSync(path.join((await trainFromConfig(config, 'v')).runDir, 'run.json'), 'utf8'));
    assert.equal(other.teacher.reused, false, 'other vectors, another teacher: trained again');
  });
});
