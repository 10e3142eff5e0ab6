/**
 * lib/metrics.ts: the numbers of `model-distill eval`, checked against a case
 * worked by hand (and the conventions of native/core/metrics.h).
 */
import { strict as assert } from 'assert';

import { argmaxRows, classificationReport, formatReport } from '../lib/metrics';

describe('classificationReport', () => {
  // truth:     a a a b b c
  // predicted: a a b b a a
  // confusion (rows true): a: [2,1,0]  b: [1,1,0]  c: [1,0,0]
  const truth = [0, 0, 0, 1, 1, 2];
  const predicted = [0, 0, 1, 1, 0, 0];
  const report = classificationReport(truth, predicted, ['a', 'b', 'c']);

  it('counts accuracy, the confusion matrix and per-class precision/recall/F1 as worked by hand', () => {
    assert.equal(report.n, 6);
    assert.equal(report.accuracy, 3 / 6);
    assert.deepEqual(report.confusion, [[2, 1, 0], [1, 1, 0], [1, 0, 0]]);
    const [a, b, c] = report.perClass;
    // a: tp 2, predicted 4, support 3 -> P 0.5, R 2/3, F1 4/7
    assert.equal(a.precision, 0.5);
    assert.equal(a.recall, 2 / 3);
    assert.ok(Math.abs(a.f1 - 4 / 7) < 1e-12);
    // b: tp 1, predicted 2, support 2 -> P 0.5, R 0.5, F1 0.5
    assert.deepEqual([b.precision, b.recall, b.f1, b.support, b.predicted], [0.5, 0.5, 0.5, 2, 2]);
    // c: never predicted -> precision 0 and F1 0, but it has support so it counts in macro-F1
    assert.deepEqual([c.precision, c.recall, c.f1, c.support, c.predicted], [0, 0, 0, 1, 0]);
    assert.ok(Math.abs(report.macroF1 - (4 / 7 + 0.5 + 0) / 3) < 1e-12);
  });

  it('leaves a class absent from truth and predictions out of macro-F1', () => {
    const r = classificationReport([0, 1], [0, 1], ['x', 'y', 'unused']);
    assert.equal(r.macroF1, 1);
    assert.equal(r.accuracy, 1);
  });

  it('BAD CALL – an id outside the classes names the row and value', () => {
    assert.throws(() => classificationReport([0, 3], [0, 0], ['a', 'b']), /\[0, 2\) for truth but received 3 at row 1/);
    assert.throws(() => classificationReport([0], [0, 1], ['a', 'b']), /2 predictions for 1 labels/);
  });

  it('formats a table with every class and the confusion matrix', () => {
    const text = formatReport(report, 'textcnn');
    assert.match(text, /^textcnn: accuracy 50\.00%  macro-F1 35\.71%  \(n = 6\)/);
    assert.match(text, /\n  c +0\.00 +0\.00 +0\.00 +1 +0\n/);
    assert.match(text, /\n  0 a +2 +1 +0\n/);
  });
});

describe('argmaxRows', () => {
  it('takes the first maximum of each row', () => {
    assert.deepEqual([...argmaxRows([1, 3, 3, 0, -1, -2, 5, 5, 5], 3)], [1, 0, 0]);
  });
  it('BAD CALL – a length that is not a multiple of C', () => {
    assert.throws(() => argmaxRows([1, 2, 3], 2), /multiple of 2/);
  });
});
