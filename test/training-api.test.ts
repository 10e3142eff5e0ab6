/**
 * The training API exported from the package (lib/training.ts): a tiny run through `train`
 * with `onProgress`, its typed result checked against what the run wrote, cancellation through
 * `signal`, and bad calls rejected with errors that name the argument.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import * as pkg from '../lib';
import type { RunProgressEvent } from '../lib';
import { TINY_REVIEWS } from './helpers/cli';
import { tinyConfigText, writeConfigIni } from './helpers/tiny-config';

describe('training API: train(configPath, uniqid, { onProgress })', function () {
  this.timeout(120_000);
  let tmp: string;
  let config: string;

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'md-training-api-'));
    config = writeConfigIni(path.join(tmp, 'cfg'), tinyConfigText(TINY_REVIEWS, 'textcnn', [], { epochs: 2, gru: false }));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('the package exports train, pretrain, experiment, detectWrongLabels and cleanLabels', () => {
    for (const name of ['train', 'pretrain', 'experiment', 'detectWrongLabels', 'cleanLabels'] as const) {
      assert.equal(typeof pkg[name], 'function', name);
    }
  });

  it('runs a tiny config, reports steps, batches and epochs, and resolves with the typed summary', async () => {
    const events: RunProgressEvent[] = [];
    const lines: string[] = [];
    const run = await pkg.train(config, 'api', { onProgress: (e) => events.push(e), log: (l) => lines.push(l) });

    assert.equal(run.uniqid, 'api');
    assert.equal(run.runDir, path.join(tmp, 'cfg', 'runs', 'api'));
    assert.equal(run.students.length, 1);
    const s = run.students[0];
    assert.equal(s.kind, 'textcnn');
    assert.ok(fs.existsSync(path.join(s.dir, 'weights.safetensors')), 'the student folder is saved');
    assert.equal(s.epochs.length, 2);
    assert.ok(s.evalAccuracy !== null && s.evalAccuracy >= 0 && s.evalAccuracy <= 1);
    assert.equal(s.evalAccuracy, s.epochs.find((e) => e.epoch === s.bestEpoch)?.evalAccuracy, 'the best epoch is the one reported');

    // The result is what run.json says.
    const record = JSON.parse(fs.readFileSync(run.files.runJson, 'utf8'));
    assert.equal(record.status, 'completed');
    assert.equal(record.students[0].evalAccuracy, s.evalAccuracy);
    assert.ok(lines.some((l) => l.startsWith('done in')), 'log receives the run\'s lines');

    // Steps in order, each started then finished.
    const steps = events.filter((e): e is Extract<RunProgressEvent, { type: 'step' }> => e.type === 'step');
    assert.deepEqual(
      steps.map((e) => `${e.step}:${e.state}`),
      ['data:started', 'data:finished', 'teacher:started', 'teacher:finished', 'soft_targets:started', 'soft_targets:finished', 'textcnn:started', 'textcnn:finished'],
    );
    assert.equal(steps[steps.length - 1].seconds, record.timings.textcnn);
    // One epoch event per epoch, with the same reports the result holds.
    const epochs = events.filter((e): e is Extract<RunProgressEvent, { type: 'epoch' }> => e.type === 'epoch');
    assert.deepEqual(epochs.map((e) => [e.model, e.report.epoch, e.epochs]), [['textcnn', 1, 2], ['textcnn', 2, 2]]);
    assert.equal(epochs[1].report.trainLoss, s.epochs[1].trainLoss);
    // Batch events fall between the textcnn step's start and its epochs, within the epoch's rows.
    const batches = events.filter((e): e is Extract<RunProgressEvent, { type: 'batch' }> => e.type === 'batch');
    assert.ok(batches.length >= 1, 'the native trainer reports batches');
    for (const b of batches) {
      assert.equal(b.model, 'textcnn');
      assert.ok(b.rowsDone > 0 && b.rowsDone <= b.rows, `rowsDone ${b.rowsDone} of ${b.rows}`);
      assert.ok(Number.isFinite(b.loss));
    }
  });

  it('signal stops the run at the next batch: the call rejects and run.json says failed', async () => {
    const controller = new AbortController();
    const more = tinyConfigText(TINY_REVIEWS, 'textcnn', [], { epochs: 50, gru: false });
    const cfg = writeConfigIni(path.join(tmp, 'cancel'), more);
    let epochsSeen = 0;
    await assert.rejects(
      pkg.train(cfg, undefined, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'epoch' && ++epochsSeen === 1) controller.abort();
        },
      }),
      /cancelled/,
    );
    assert.ok(epochsSeen < 50, `stopped early (${epochsSeen} epochs)`);
    const record = JSON.parse(fs.readFileSync(path.join(tmp, 'cancel', 'runs', 'default', 'run.json'), 'utf8'));
    assert.equal(record.status, 'failed');
  });

  it('BAD CALL – a number for configPath, an empty uniqid, a string for onProgress, a missing config', async () => {
    await assert.rejects(pkg.train(42 as unknown as string), /train: expected a non-empty string for configPath but received number 42/);
    await assert.rejects(pkg.experiment(config, ''), /experiment: expected a non-empty string or undefined for uniqid but received string ""/);
    await assert.rejects(
      pkg.pretrain(config, 'x', { onProgress: 'yes' as unknown as () => void }),
      /pretrain: expected a function for options.onProgress but received string "yes"/,
    );
    await assert.rejects(pkg.detectWrongLabels(config, undefined, null as unknown as object), /detectWrongLabels: expected an object for options but received null/);
    await assert.rejects(pkg.train(path.join(tmp, 'no-such.ini')), /no-such\.ini/);
  });
});
