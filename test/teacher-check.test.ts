/**
 * The teacher check ([distill] check_teacher, teacher_margin, require_better_teacher;
 * lib/pipeline/teacher-check.ts): the verdict and its note, a weak teacher flagged in the
 * log and run.json, require_better_teacher keeping the students trained alone (no soft
 * labels computed, the checked student not trained twice), a teacher that passes, and the
 * experiment table's note. Tiny fixture (tiny-reviews), tiny models.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { readModelFolder } from '../lib/model-folder';
import { judgeTeacher } from '../lib/pipeline/teacher-check';
import { trainFromConfig } from '../lib/pipeline/train';
import { runExperiment } from '../lib/experiment/run';
import { TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

/** A transformer teacher that cannot learn anything in one epoch at this learning rate: near chance. */
const WEAK_TEACHER = ['[teacher]', 'kind = native', 'layers = 1', 'hidden = 16', 'heads = 2', 'intermediate = 32', 'epochs = 1', 'learning_rate = 0.0000001', 'batch_size = 16'];

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-teacher-check-'));
});
after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('teacher check: the verdict', () => {
  it('passes only when the teacher beats the best student alone by the margin, and says why not', () => {
    const alone = [
      { name: 'gru alone', evalAccuracy: 0.77 },
      { name: 'textcnn alone', evalAccuracy: 0.779 },
    ];
    const low = judgeTeacher(0.758, alone, 0.005, false);
    assert.equal(low.passed, false);
    assert.equal(low.note, 'note: teacher 0.7580 < textcnn alone 0.7790, gru alone 0.7700 on eval: distillation is unlikely to help');
    assert.equal(low.action, 'distil', 'without require_better_teacher the note is advice only');
    assert.equal(judgeTeacher(0.758, alone, 0.005, true).action, 'keep students trained alone');
    const close = judgeTeacher(0.782, alone, 0.005, true);
    assert.equal(close.passed, false);
    assert.match(close.note ?? '', /teacher 0\.7820 is not more than 0\.005 above textcnn alone 0\.7790/);
    // 0.784 - 0.779 is 0.00499999… in floating point: equal to the margin, which is not more.
    assert.equal(judgeTeacher(0.784, alone, 0.005, true).passed, false);
    const above = judgeTeacher(0.785, alone, 0.005, true);
    assert.deepEqual([above.passed, above.note, above.action], [true, null, 'distil']);
    const level = judgeTeacher(0.779, alone, 0, false);
    assert.equal(level.passed, false, 'margin 0: level is not better');
    assert.match(level.note ?? '', /^note: teacher 0\.7790 = textcnn alone 0\.7790/);
    assert.equal(judgeTeacher(0.78, alone, 0, false).passed, true, 'margin 0: one row better is enough');
  });
});

describe('teacher check: in train', function () {
  it('flags a weak teacher in the log and run.json, and still distils by default', async () => {
    const file = writeConfigIni(path.join(tmp, 'weak'), tinyConfigText(TINY_REVIEWS, 'textcnn,gru', [...WEAK_TEACHER, '[distill]', 'use_unlabeled = false']));
    const lines: string[] = [];
    const summary = await trainFromConfig(file, 'r', { log: (l) => lines.push(l) });
    const record = readJson(summary.files.runJson);
    const check = record.teacherCheck;
    assert.equal(check.passed, false, `teacher ${check.teacherAccuracy} vs ${JSON.stringify(check.alone)}`);
    assert.equal(check.alone.length, 1);
    assert.equal(check.alone[0].name, 'textcnn alone');
    assert.ok(check.teacherAccuracy <= check.alone[0].evalAccuracy);
    assert.equal(check.action, 'distil');
    assert.ok(lines.includes(check.note), 'the note is printed');
    assert.match(check.note, /^note: teacher 0\.\d{4} .* textcnn alone 0\.\d{4} on eval: distillation is unlikely to help$/);
    // Distilled anyway: both saved students name the teacher.
    for (const s of summary.students) assert.notEqual(readModelFolder(s.dir).config.training?.distill ?? null, null, `${s.kind} is distilled`);
    assert.ok(fs.existsSync(path.join(summary.runDir, 'soft-labels.cache')));
  });

  it('with require_better_teacher keeps the students trained alone, training the checked one once', async () => {
    const file = writeConfigIni(
      path.join(tmp, 'require'),
      tinyConfigText(TINY_REVIEWS, 'textcnn,gru', [...WEAK_TEACHER, '[distill]', 'require_better_teacher = true']),
    );
    const lines: string[] = [];
    const summary = await trainFromConfig(file, 'r', { log: (l) => lines.push(l) });
    const record = readJson(summary.files.runJson);
    assert.equal(record.teacherCheck.action, 'keep students trained alone');
    assert.deepEqual(summary.students.map((s) => s.kind), ['textcnn', 'gru']);
    for (const s of summary.students) assert.equal(readModelFolder(s.dir).config.training?.distill ?? null, null, `${s.kind} is trained alone`);
    assert.ok(!fs.existsSync(path.join(summary.runDir, 'soft-labels.cache')), 'no soft labels were computed');
    assert.equal('soft_targets' in record.timings, false);
    assert.equal(lines.filter((l) => /^textcnn: TextCNN /.test(l)).length, 1, 'the checked TextCNN is the kept one, not retrained');
    assert.equal(record.teacherCheck.alone[0].evalAccuracy, summary.students[0].evalAccuracy);
  });

  it('passes a teacher that beats the student alone, and then distils', async () => {
    // The student alone barely moves at this learning rate; the GRU member learns at its own.
    const file = writeConfigIni(
      path.join(tmp, 'pass'),
      tinyConfigText(TINY_REVIEWS, 'textcnn', ['[teacher]', 'kind = none', 'ensemble = gru', '[distill]', 'require_better_teacher = true', 'use_unlabeled = false'], { learningRate: false, epochs: 4 })
        .replace('[train]\n', '[train]\nlearning_rate = 0.0000001\n')
        .replace('[gru]\n', '[gru]\nlearning_rate = 0.02\n'),
    );
    const summary = await trainFromConfig(file, 'r');
    const check = readJson(summary.files.runJson).teacherCheck;
    assert.equal(check.passed, true, `teacher ${check.teacherAccuracy} vs ${JSON.stringify(check.alone)}`);
    assert.equal(check.note, null);
    assert.notEqual(readModelFolder(summary.students[0].dir).config.training?.distill ?? null, null, 'the kept TextCNN is the distilled one');
  });

  it('check_teacher = false trains no extra student and records no verdict', async () => {
    const file = writeConfigIni(
      path.join(tmp, 'off'),
      tinyConfigText(TINY_REVIEWS, 'textcnn', [...WEAK_TEACHER, '[distill]', 'check_teacher = false', 'use_unlabeled = false']),
    );
    const lines: string[] = [];
    const summary = await trainFromConfig(file, 'r', { log: (l) => lines.push(l) });
    assert.equal(readJson(summary.files.runJson).teacherCheck, undefined);
    assert.equal(lines.filter((l) => /^textcnn: TextCNN /.test(l)).length, 1);
  });
});

describe('teacher check: in experiment', function () {
  it("compares with the alone setting's students and puts the note under the table and on the teacher row", async () => {
    const file = writeConfigIni(path.join(tmp, 'exp'), tinyConfigText(TINY_REVIEWS, 'textcnn', [...WEAK_TEACHER, '[distill]', 'require_better_teacher = true']));
    const lines: string[] = [];
    const result = await runExperiment(file, 'x', { log: (l) => lines.push(l), settings: ['alone', 'distilled'] });
    const check = result.teacherCheck;
    assert.ok(check !== null);
    const alone = result.rows.find((r) => r.model === 'textcnn' && r.setting === 'alone');
    assert.equal(check.alone[0].evalAccuracy, alone?.eval?.accuracy);
    assert.equal(check.passed, false);
    const teacherRow = result.rows.find((r) => r.model === 'teacher');
    assert.ok(teacherRow?.note?.startsWith(check.note ?? '-'), teacherRow?.note ?? '');
    assert.ok(fs.readFileSync(result.files.markdown, 'utf8').includes(`\n${check.note}\n`));
    // The experiment measures distillation itself: the distilled row is a distilled model.
    const distilled = result.rows.find((r) => r.model === 'textcnn' && r.setting === 'distilled');
    assert.notEqual(readModelFolder(distilled?.dir as string).config.training?.distill ?? null, null);
    assert.equal(lines.filter((l) => /^teacher check: training/.test(l)).length, 0, 'no extra student: the alone rows are the comparison');
  });
});
