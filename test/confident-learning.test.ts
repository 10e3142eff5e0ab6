/**
 * Confident learning on hand-made probability matrices: every expected number
 * below was worked out by hand from the definitions in
 * lib/labels/confident-learning.ts (thresholds, confident joint, calibration,
 * the five filters, the two rankings), not by running the code.
 */
import { strict as assert } from 'assert';

import {
  calibrateConfidentJoint,
  confidentClasses,
  confidentThresholds,
  findLabelIssues,
  labelQualityScores,
  pruneCounts,
  roundPreservingSum,
} from '../lib/labels/confident-learning';

const flat = (rows: number[][]) => Float64Array.from(rows.flat());
const near = (a: ArrayLike<number>, b: number[], eps = 1e-9) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i])) assert.ok(Number.isNaN(a[i]), `index ${i}: expected NaN, got ${a[i]}`);
    else assert.ok(Math.abs(a[i] - b[i]) <= eps, `index ${i}: expected ${b[i]}, got ${a[i]}`);
  }
};

// Three classes, ten rows; row 3 (labelled 0) is really a 1, row 9 (labelled 2) really a 0.
//   t0 = (.9 + .8 + .7 + .1) / 4 = .625, t1 = (.8 + .9 + .7) / 3 = .8, t2 = (.8 + .9 + .05) / 3 = .58333
const THREE = {
  probs: flat([
    [0.9, 0.05, 0.05],
    [0.8, 0.1, 0.1],
    [0.7, 0.2, 0.1],
    [0.1, 0.8, 0.1], // labelled 0, p1 = .8 >= t1: counted as 1
    [0.1, 0.8, 0.1],
    [0.05, 0.9, 0.05],
    [0.2, 0.7, 0.1], // labelled 1, nothing over its threshold: not counted
    [0.1, 0.1, 0.8],
    [0.05, 0.05, 0.9],
    [0.7, 0.25, 0.05], // labelled 2, p0 = .7 >= t0: counted as 0
  ]),
  labels: Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2, 2, 2]),
};

describe('confident learning', () => {
  describe('the steps', () => {
    it('thresholds are the mean self-confidence per class; a class with no rows has none (NaN)', () => {
      near(confidentThresholds(THREE.probs, THREE.labels, 3), [0.625, 0.8, (0.8 + 0.9 + 0.05) / 3]);
      const noTwo = Int32Array.from([0, 0, 1, 1]);
      const p = flat([[0.6, 0.3, 0.1], [0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.5, 0.4]]);
      near(confidentThresholds(p, noTwo, 3), [0.7, 0.6, NaN]);
    });

    it('counts a row as the most probable class over its threshold, or as none', () => {
      const t = confidentThresholds(THREE.probs, THREE.labels, 3);
      assert.deepEqual([...confidentClasses(THREE.probs, 3, t)], [0, 0, 0, 1, 1, 1, -1, 2, 2, 0]);
      // Two classes over their thresholds: the more probable one wins even when the other is first.
      assert.deepEqual([...confidentClasses(flat([[0.45, 0.55]]), 2, [0.4, 0.5])], [1]);
      // The more probable class is not over its own threshold: the one that is wins (argmax would say 0).
      assert.deepEqual([...confidentClasses(flat([[0.6, 0.4]]), 2, [0.9, 0.3])], [1]);
    });

    it('rounds keeping the sum, moving the entries rounding moved most', () => {
      assert.deepEqual(roundPreservingSum([3.75, 1.25]), [4, 1]);
      assert.deepEqual(roundPreservingSum([0.5, 0.5, 1]), [0, 1, 1]); // 1+1+1 = 3 > 2: the first .5 goes down
      assert.deepEqual(roundPreservingSum([1.4, 1.4, 1.2]), [2, 1, 1]); // 1+1+1 = 3 < 4: the largest loss goes up
      assert.deepEqual(roundPreservingSum([0, 0, 0]), [0, 0, 0]);
    });

    it('calibrates each row to its class count and the whole to n', () => {
      // Row 0 sums to 4 but the class has 5 rows: 3 * 5/4 = 3.75 -> 4, 1 * 5/4 = 1.25 -> 1.
      assert.deepEqual(calibrateConfidentJoint([[3, 1], [1, 4]], [5, 5]), [[4, 1], [1, 4]]);
      // A class with no rows becomes a zero row; the others still sum to their counts.
      assert.deepEqual(calibrateConfidentJoint([[2, 0, 0], [1, 1, 0], [0, 0, 1]], [4, 2, 0]), [[4, 0, 0], [1, 1, 0], [0, 0, 0]]);
      // Random joints: rows always sum to the class counts.
      let s = 7;
      const rnd = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
      for (let trial = 0; trial < 50; trial++) {
        const K = 2 + (trial % 5);
        const counts = Array.from({ length: K }, () => Math.floor(rnd() * 40));
        const cj = Array.from({ length: K }, (_, i) => Array.from({ length: K }, (_, j) => (i === j ? 1 : 0) + Math.floor(rnd() * 10)));
        const out = calibrateConfidentJoint(cj, counts);
        out.forEach((row, i) => {
          assert.equal(row.reduce((a, b) => a + b, 0), counts[i], `trial ${trial} row ${i}`);
          for (const v of row) assert.ok(Number.isInteger(v) && v >= 0);
        });
      }
    });

    it('keeps at least minExamplesPerClass rows on the diagonal of the prune counts', () => {
      // Class 0 has 3 rows, all estimated wrong: one is kept, taken from the larger off-diagonal first.
      assert.deepEqual(pruneCounts([[0, 2, 1], [0, 2, 0], [0, 0, 1]], [3, 2, 1], 1), [[1, 1, 1], [0, 2, 0], [0, 0, 1]]);
      assert.deepEqual(pruneCounts([[2, 1]], [3], 1), [[2, 1]]);
    });

    it('scores self-confidence and normalised margin', () => {
      const p = flat([[0.1, 0.8, 0.1], [0.7, 0.25, 0.05]]);
      const labels = Int32Array.from([0, 2]);
      near(labelQualityScores(p, labels, 3, 'self_confidence'), [0.1, 0.05]);
      near(labelQualityScores(p, labels, 3, 'normalized_margin'), [(0.1 - 0.8 + 1) / 2, (0.05 - 0.7 + 1) / 2]);
    });
  });

  describe('findLabelIssues', () => {
    it('finds the two flipped rows of a three-class set and estimates the joint', () => {
      const r = findLabelIssues(THREE.probs, THREE.labels, 3);
      // Raw: given 0 -> [3 as 0, 1 as 1, 0], given 1 -> [0, 2, 0] (row 6 uncounted), given 2 -> [1, 0, 2].
      assert.deepEqual(r.rawConfidentJoint, [[3, 1, 0], [0, 2, 0], [1, 0, 2]]);
      // Row 1 is scaled from 2 to its 3 rows; the others already sum to their counts.
      assert.deepEqual(r.confidentJoint, [[3, 1, 0], [0, 3, 0], [1, 0, 2]]);
      assert.deepEqual(r.classCounts, [4, 3, 3]);
      near(r.joint.flat(), [0.3, 0.1, 0, 0, 0.3, 0, 0.1, 0, 0.2]);
      // P(given | true): true class 0 has 3 + 1 rows, one of them labelled 2.
      near(r.noiseMatrix.flat(), [0.75, 0.25, 0, 0, 0.75, 0, 0.25, 0, 1]);
      assert.deepEqual(
        r.perClass.map((c) => [c.rows, c.estimatedErrors, c.flagged]),
        [[4, 1, 1], [3, 0, 0], [3, 1, 1]],
      );
      near(r.perClass.map((c) => c.estimatedNoiseRate), [0.25, 0, 1 / 3]);
      assert.equal(r.estimatedErrors, 2);
      // Default filter low_self_confidence: rows 3 and 9 are off the raw joint's diagonal and not
      // predicted as their given label, so 2 issues, the 2 rows of lowest self-confidence.
      assert.equal(r.filter, 'low_self_confidence');
      assert.equal(r.estimatedIssues, 2);
      // Self-confidence: row 9 (p2 = .05) before row 3 (p0 = .1).
      assert.deepEqual([...r.flagged], [9, 3]);
      assert.deepEqual([...r.suggested], [0, 0, 0, 1, 1, 1, 1, 2, 2, 0]);
      near([r.suggestedConfidence[3], r.suggestedConfidence[9]], [0.8, 0.7]);
    });

    it('ranks by normalised margin when asked (row 3: .15 before row 9: .175)', () => {
      const r = findLabelIssues(THREE.probs, THREE.labels, 3, { rankBy: 'normalized_margin' });
      assert.deepEqual([...r.flagged], [3, 9]);
      near([r.scores[3], r.scores[9]], [0.15, 0.175]);
    });

    describe('the filters differ where margin and self-confidence disagree', () => {
      // Class 0 (6 rows): row 0 is confidently a 2 (p2 = .8 = t2); row 1 has the lowest p0 but
      // no class over its threshold. t0 = 3.62 / 6, t1 = t2 = .8.
      // Raw joint: given 0 -> [4, 0, 1]; calibrated [4.8, 0, 1.2] -> [5, 0, 1]: one error in class 0.
      const probs = flat([
        [0.05, 0.15, 0.8],
        [0.02, 0.6, 0.38],
        [0.9, 0.05, 0.05],
        [0.9, 0.05, 0.05],
        [0.9, 0.05, 0.05],
        [0.85, 0.1, 0.05],
        [0.05, 0.9, 0.05],
        [0.1, 0.8, 0.1],
        [0.1, 0.7, 0.2],
        [0.05, 0.05, 0.9],
        [0.1, 0.1, 0.8],
        [0.1, 0.2, 0.7],
      ]);
      const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 2, 2]);

      it('prune_by_noise_rate removes the row with the largest margin p2 - p0 (row 0)', () => {
        const r = findLabelIssues(probs, labels, 3, { filter: 'prune_by_noise_rate' });
        assert.deepEqual(r.confidentJoint, [[5, 0, 1], [0, 3, 0], [0, 0, 3]]);
        assert.deepEqual([...r.flagged], [0]);
      });
      it('prune_by_class removes the row with the lowest p0 (row 1)', () => {
        assert.deepEqual([...findLabelIssues(probs, labels, 3, { filter: 'prune_by_class' }).flagged], [1]);
      });
      it('both keeps only rows both flag (none here)', () => {
        assert.deepEqual([...findLabelIssues(probs, labels, 3, { filter: 'both' }).flagged], []);
      });
      // Off the raw joint's diagonal: row 0 only (row 1 is predicted 1 but p1 = .6 < t1): one issue.
      it('low_self_confidence flags the one row of lowest p_given (row 1: .02), though row 0 was the one counted', () => {
        const r = findLabelIssues(probs, labels, 3, { filter: 'low_self_confidence' });
        assert.equal(r.estimatedIssues, 1);
        assert.deepEqual([...r.flagged], [1]);
      });
      it('low_normalized_margin flags the one row of lowest margin (row 0: (.05 - .8 + 1) / 2 = .125 < row 1: .21)', () => {
        const r = findLabelIssues(probs, labels, 3, { filter: 'low_normalized_margin' });
        assert.equal(r.estimatedIssues, 1);
        assert.deepEqual([...r.flagged], [0]);
        near([r.scores[0], r.scores[1]], [0.05, 0.02]); // scores follow rankBy (self_confidence), not the filter
      });
    });

    it('low_self_confidence counts the raw off-diagonal rows where calibration would scale a small class up', () => {
      // Class 0 (4 rows): row 0 a clear 0; rows 1-3 look like 1s, but only row 3 passes t1 = .9.
      // t0 = (.9 + .4 + .4 + .1) / 4 = .45. Raw given 0 -> [1, 1], calibrated to its 4 rows -> [2, 2]:
      // 2 estimated errors; the raw off-diagonal holds 1 row: 1 issue, the lowest p0 (row 3).
      const probs = flat([[0.9, 0.1], [0.4, 0.6], [0.4, 0.6], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9], [0.1, 0.9]]);
      const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1]);
      const r = findLabelIssues(probs, labels, 2);
      assert.deepEqual(r.rawConfidentJoint, [[1, 1], [0, 4]]);
      assert.deepEqual(r.confidentJoint, [[2, 2], [0, 4]]);
      assert.equal(r.estimatedErrors, 2);
      assert.equal(r.estimatedIssues, 1);
      assert.deepEqual([...r.flagged], [3]);
      // prune_by_class takes the calibrated 2 from class 0: rows 3 and 1 (p0 .1, then .4, lower index first).
      assert.deepEqual([...findLabelIssues(probs, labels, 2, { filter: 'prune_by_class' }).flagged], [3, 1]);
    });

    it('low_self_confidence never flags a row predicted as its given label, nor a class below minExamplesPerClass', () => {
      // t0 = (.45 + .34 + .9 + .9) / 4 = .6475, t1 = .5, t2 = .9. Row 0 (labelled 0) is confidently
      // a 1 (p1 = .55 >= t1): the one issue. Row 1 (labelled 0) has the lower self-confidence (.34 <
      // .45) but is predicted 0 (flat probabilities, nothing over a threshold): skipped, row 0 flagged.
      const probs = flat([[0.45, 0.55, 0], [0.34, 0.33, 0.33], [0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.05, 0.5, 0.45], [0.05, 0.5, 0.45], [0.05, 0.05, 0.9], [0.05, 0.05, 0.9]]);
      const labels = Int32Array.from([0, 0, 0, 0, 1, 1, 2, 2]);
      const r = findLabelIssues(probs, labels, 3);
      assert.equal(r.estimatedIssues, 1);
      assert.deepEqual([...r.flagged], [0]);
      // With minExamplesPerClass 4, class 0 (4 rows) gives none up.
      assert.deepEqual([...findLabelIssues(probs, labels, 3, { minExamplesPerClass: 4 }).flagged], []);
    });

    it('two classes: flags the confidently-other rows, not the merely uncertain one', () => {
      // Given 0: p0 = .95 .9 .85 .3 .45 -> t0 = .69; given 1: p1 = .9 .8 .85 .75 .2 -> t1 = .7.
      // Row 3 (p1 = .7) and row 9 (p0 = .8) are confidently the other class; row 4 (p1 = .55)
      // is predicted 1 but under t1, so it is not counted and not flagged.
      const p0 = [0.95, 0.9, 0.85, 0.3, 0.45, 0.1, 0.2, 0.15, 0.25, 0.8];
      const probs = flat(p0.map((p) => [p, 1 - p]));
      const labels = Int32Array.from([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
      for (const filter of ['prune_by_noise_rate', 'prune_by_class', 'both'] as const) {
        const r = findLabelIssues(probs, labels, 2, { filter });
        assert.deepEqual(r.rawConfidentJoint, [[3, 1], [1, 4]]);
        assert.deepEqual(r.confidentJoint, [[4, 1], [1, 4]], filter);
        assert.deepEqual([...r.flagged], [9, 3], filter); // p_given .2 before .3
      }
    });

    it('all rows confidently their own label: nothing flagged, no noise', () => {
      const probs = flat([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7], [0.1, 0.9]]);
      const r = findLabelIssues(probs, Int32Array.from([0, 0, 1, 1]), 2, { filter: 'both' });
      assert.deepEqual(r.confidentJoint, [[2, 0], [0, 2]]);
      assert.equal(r.flagged.length, 0);
      assert.equal(r.estimatedErrors, 0);
      assert.deepEqual(r.perClass.map((c) => c.estimatedNoiseRate), [0, 0]);
    });

    it('a class with no rows: no threshold, a zero row and column, the rest still works', () => {
      // Rows labelled 0/1 of a 3-class problem; row 2 (labelled 0) is confidently a 1.
      // t0 = (.8 + .9 + .1) / 3 = .6, t1 = (.8 + .9) / 2 = .85.
      const probs = flat([[0.8, 0.1, 0.1], [0.9, 0.05, 0.05], [0.1, 0.85, 0.05], [0.1, 0.8, 0.1], [0.05, 0.9, 0.05]]);
      const r = findLabelIssues(probs, Int32Array.from([0, 0, 0, 1, 1]), 3);
      assert.equal(r.perClass[2].rows, 0);
      assert.equal(r.perClass[2].threshold, null);
      assert.ok(Number.isNaN(r.thresholds[2]));
      // Row 3 (p1 = .8 < .85) is not counted: given 1 -> [0, 1, 0] raw, [0, 2, 0] calibrated.
      assert.deepEqual(r.confidentJoint, [[2, 1, 0], [0, 2, 0], [0, 0, 0]]);
      assert.deepEqual([...r.flagged], [2]);
      assert.deepEqual(r.noiseMatrix[2], [0, 0, 0]);
    });

    it('never flags the last row of a class (minExamplesPerClass 1), unless told to', () => {
      // The only row labelled 0 looks like a 1. t0 = .1, t1 = .85; raw given 0 -> [1 (the diagonal's
      // floor), 1] calibrated [.5, .5] -> [0, 1]: one estimated error, the class's only row.
      const probs = flat([[0.1, 0.9], [0.1, 0.9], [0.2, 0.8]]);
      const labels = Int32Array.from([0, 1, 1]);
      const r = findLabelIssues(probs, labels, 2);
      assert.deepEqual(r.confidentJoint[0], [0, 1]);
      assert.deepEqual([...r.flagged], []);
      assert.deepEqual([...findLabelIssues(probs, labels, 2, { minExamplesPerClass: 0 }).flagged], [0]);
    });

    it('BAD CALL – wrong sizes, labels, probabilities and options name the value', () => {
      const p = flat([[0.5, 0.5]]);
      assert.throws(() => findLabelIssues(p, Int32Array.from([0]), 1), /integer >= 2 for numClasses but received 1/);
      assert.throws(() => findLabelIssues(p, Int32Array.from([0, 1]), 2), /length rows \* numClasses = 2 \* 2 = 4 but received length 2/);
      assert.throws(() => findLabelIssues(p, Int32Array.from([2]), 2), /labels in 0..1 but received 2 at row 0/);
      assert.throws(() => findLabelIssues(flat([[0.5, NaN]]), Int32Array.from([0]), 2), /received NaN at row 0, class 1/);
      assert.throws(() => findLabelIssues(p, new Int32Array(0), 2), /at least one row/);
      assert.throws(() => findLabelIssues(p, Int32Array.from([0]), 2, { filter: 'prune' as never }), /low_self_confidence, low_normalized_margin, prune_by_noise_rate, prune_by_class, both for filter but received "prune"/);
      assert.throws(() => findLabelIssues(p, Int32Array.from([0]), 2, { rankBy: 'margin' as never }), /for rankBy but received "margin"/);
    });
  });
});
