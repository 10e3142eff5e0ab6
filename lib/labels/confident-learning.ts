/**
 * Confident learning: which given labels are probably wrong, from out-of-fold
 * predicted probabilities (Northcutt, Jiang & Chuang, "Confident Learning:
 * Estimating Uncertainty in Dataset Labels", JAIR 2021; the definitions follow
 * the paper and the open-source cleanlab package's `compute_confident_joint`,
 * `calibrate_confident_joint` and `find_label_issues`).
 *
 * Pure arithmetic, no I/O. Inputs: `probs` [n, C] row-major (row r = the
 * probabilities a model that never saw row r gives it), `labels` [n] (the given
 * class ids, 0..C-1). The steps:
 *
 * 1. Thresholds. t_j = the mean probability of class j over the rows labelled
 *    j (the model's average self-confidence on class j). A class with no rows
 *    has no threshold (NaN): no row can be confidently counted as it.
 * 2. Confident joint. A row labelled i is counted in C[i][j] when p_j >= t_j;
 *    when several classes pass their threshold, j is the one of them with the
 *    largest probability (the paper's rule; cleanlab takes the overall argmax
 *    there, which is the same class unless the argmax is below its own
 *    threshold). Rows with no class over its threshold are not counted. Each
 *    diagonal entry is raised to at least 1, as cleanlab does, so calibration
 *    never divides by zero.
 * 3. Calibration. Each row i is rescaled to sum to n_i (the rows labelled i)
 *    and rounded to integers keeping that sum: the calibrated C is then a
 *    count estimate of the joint of (given label, true label), and
 *    Q = C / n estimates the joint distribution.
 * 4. Filters (which rows to flag):
 *    - low_self_confidence (default) / low_normalized_margin: the N rows with
 *      the lowest self-confidence (or normalised margin, see 5.), where N is
 *      the number of rows off the diagonal of the UNcalibrated confident joint
 *      (rows confidently counted as a class other than their given label and
 *      not predicted as it): cleanlab's `num_label_issues` with its default
 *      estimation_method "off_diagonal", and its `find_label_issues` filters
 *      of the same names. The calibrated count (n - trace of the calibrated
 *      joint) overestimates where a small class receives many flips: its
 *      threshold t_i is then low, few of its rows are counted at all, and
 *      calibration scales the few off-diagonal counts up to the whole class;
 *    - prune_by_noise_rate: for every off-diagonal (i, j), the
 *      C[i][j] = n*Q[i][j] rows labelled i with the largest margin p_j - p_i
 *      (counts from the calibrated joint);
 *    - prune_by_class: in each class i, the n_i - C[i][i] rows labelled i
 *      with the lowest self-confidence p_i;
 *    - both: rows flagged by both prune_by_ filters.
 *    As in cleanlab, at least `minExamplesPerClass` (default 1) rows of each
 *    class are kept, and a row whose predicted class (argmax) is its given
 *    label is never flagged.
 * 5. Ranking. Flagged rows are sorted most suspect first, by the lowest label
 *    quality: self_confidence = p_given, or normalized_margin =
 *    (p_given - max_{k != given} p_k + 1) / 2. Ties go to the lower row index,
 *    so the result is deterministic.
 */

import type { LabelFilter, LabelRankBy } from '../config';

export type { LabelFilter, LabelRankBy };
export const LABEL_FILTERS: readonly LabelFilter[] = ['low_self_confidence', 'low_normalized_margin', 'prune_by_noise_rate', 'prune_by_class', 'both'];
export const LABEL_RANKINGS: readonly LabelRankBy[] = ['self_confidence', 'normalized_margin'];

/** Probabilities may be off by float rounding; comparisons with a threshold allow this much (cleanlab uses 1e-6 too). */
const THRESHOLD_SLACK = 1e-6;

export interface ConfidentLearningOptions {
  /** Which rows to flag (default low_self_confidence). */
  filter?: LabelFilter;
  /** Order of the flagged rows (default self_confidence). */
  rankBy?: LabelRankBy;
  /** Never flag a class down below this many rows (default 1). */
  minExamplesPerClass?: number;
}

export interface ClassNoise {
  /** Rows with this given label. */
  rows: number;
  /** Mean self-confidence of those rows (the threshold t_j), or null when the class has no rows. */
  threshold: number | null;
  /** Estimated rows of this given label whose true label is another class: n_i - C[i][i] of the calibrated joint. */
  estimatedErrors: number;
  /** estimatedErrors / rows (0 for a class with no rows). */
  estimatedNoiseRate: number;
  /** Rows of this given label that the filter flagged. */
  flagged: number;
}

export interface ConfidentLearningResult {
  rows: number;
  numClasses: number;
  filter: LabelFilter;
  rankBy: LabelRankBy;
  /** t_j per class; NaN for a class with no rows. */
  thresholds: Float64Array;
  /** n_i: rows per given class. */
  classCounts: number[];
  /** Before calibration: counts of confidently counted rows, [given][true]. */
  rawConfidentJoint: number[][];
  /** Calibrated integer counts, [given][true]; row i sums to n_i, the whole to n. */
  confidentJoint: number[][];
  /** Q = confidentJoint / n: the estimated joint distribution of (given, true). */
  joint: number[][];
  /** P(given = i | true = j) = Q[i][j] / sum_i Q[i][j], [given][true]; columns of classes never confidently seen are 0. */
  noiseMatrix: number[][];
  /** Per given class: rows, threshold, estimated errors and rate, flagged rows. */
  perClass: ClassNoise[];
  /** Sum of estimatedErrors over classes (from the calibrated joint). */
  estimatedErrors: number;
  /**
   * Rows off the diagonal of the uncalibrated confident joint, less those
   * predicted as their given label: cleanlab's num_label_issues ("off_diagonal"),
   * the number the low_self_confidence / low_normalized_margin filters flag.
   */
  estimatedIssues: number;
  /** Flagged row indices (0-based), most suspect first. */
  flagged: Int32Array;
  /** Per row: the label quality score used for ranking (lower = more suspect). */
  scores: Float64Array;
  /** Per row: argmax of its probabilities (the suggested label). */
  suggested: Int32Array;
  /** Per row: the probability of the suggested label. */
  suggestedConfidence: Float64Array;
}

// ---------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------

function checkInputs(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): number {
  if (!Number.isInteger(numClasses) || numClasses < 2) {
    throw new TypeError(`Expected integer >= 2 for numClasses but received ${String(numClasses)}`);
  }
  const n = labels.length;
  if (n === 0) throw new TypeError('Expected at least one row but received 0 labels');
  if (probs.length !== n * numClasses) {
    throw new TypeError(
      `Expected probs of length rows * numClasses = ${n} * ${numClasses} = ${n * numClasses} but received length ${probs.length}`,
    );
  }
  for (let r = 0; r < n; r++) {
    const y = labels[r];
    if (!Number.isInteger(y) || y < 0 || y >= numClasses) {
      throw new TypeError(`Expected labels in 0..${numClasses - 1} but received ${String(y)} at row ${r}`);
    }
  }
  for (let k = 0; k < probs.length; k++) {
    const p = probs[k];
    if (!Number.isFinite(p) || p < 0) {
      const r = Math.floor(k / numClasses);
      throw new TypeError(`Expected finite non-negative probabilities but received ${String(p)} at row ${r}, class ${k % numClasses}`);
    }
  }
  return n;
}

// ---------------------------------------------------------------------------
// The steps, each usable on its own
// ---------------------------------------------------------------------------

/** Rows per class. */
export function classCounts(labels: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let r = 0; r < labels.length; r++) counts[labels[r]]++;
  return counts;
}

/** t_j = mean of p_j over the rows labelled j; NaN for a class with no rows. */
export function confidentThresholds(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number): Float64Array {
  const sums = new Float64Array(numClasses);
  const counts = classCounts(labels, numClasses);
  for (let r = 0; r < labels.length; r++) sums[labels[r]] += probs[r * numClasses + labels[r]];
  const t = new Float64Array(numClasses);
  for (let j = 0; j < numClasses; j++) t[j] = counts[j] > 0 ? sums[j] / counts[j] : NaN;
  return t;
}

/** argmax of row r (first maximum). */
function argmaxRow(probs: ArrayLike<number>, r: number, numClasses: number): number {
  const base = r * numClasses;
  let best = 0;
  for (let j = 1; j < numClasses; j++) if (probs[base + j] > probs[base + best]) best = j;
  return best;
}

/**
 * The class each row is confidently counted as (-1: none passes its
 * threshold): among the classes j with p_j >= t_j, the most probable.
 */
export function confidentClasses(probs: ArrayLike<number>, numClasses: number, thresholds: ArrayLike<number>): Int32Array {
  const n = probs.length / numClasses;
  const out = new Int32Array(n).fill(-1);
  for (let r = 0; r < n; r++) {
    const base = r * numClasses;
    let best = -1;
    for (let j = 0; j < numClasses; j++) {
      const t = thresholds[j];
      if (Number.isNaN(t)) continue; // a class with no rows is never counted
      const p = probs[base + j];
      if (p >= t - THRESHOLD_SLACK && (best < 0 || p > probs[base + best])) best = j;
    }
    out[r] = best;
  }
  return out;
}

/** The uncalibrated confident joint, [given][true], diagonal at least 1. */
export function rawConfidentJoint(labels: ArrayLike<number>, confident: ArrayLike<number>, numClasses: number): number[][] {
  const cj = Array.from({ length: numClasses }, () => new Array<number>(numClasses).fill(0));
  for (let r = 0; r < labels.length; r++) if (confident[r] >= 0) cj[labels[r]][confident[r]]++;
  for (let i = 0; i < numClasses; i++) cj[i][i] = Math.max(cj[i][i], 1);
  return cj;
}

/**
 * Rounds `values` to integers whose sum is the rounded sum of `values`: round
 * each, then move the entries that rounding moved furthest (ties: lower index)
 * by one until the sums agree.
 */
export function roundPreservingSum(values: readonly number[]): number[] {
  const ints = values.map((v) => Math.round(v));
  const target = Math.round(values.reduce((a, b) => a + b, 0));
  let diff = target - ints.reduce((a, b) => a + b, 0);
  if (diff === 0) return ints;
  const step = diff > 0 ? 1 : -1;
  // Entries whose rounding lost the most go up first (or gained the most go down).
  const order = values.map((_, i) => i).sort((a, b) => step * ((values[b] - ints[b]) - (values[a] - ints[a])) || a - b);
  for (let k = 0; diff !== 0; k = (k + 1) % order.length) {
    ints[order[k]] += step;
    diff -= step;
  }
  return ints;
}

/**
 * Rescales row i of the confident joint to sum to n_i, then the whole to n,
 * and rounds each row keeping its sum. A class with no rows gets a zero row.
 */
export function calibrateConfidentJoint(cj: readonly (readonly number[])[], counts: readonly number[]): number[][] {
  const K = counts.length;
  const n = counts.reduce((a, b) => a + b, 0);
  const scaled = cj.map((row, i) => {
    const sum = row.reduce((a, b) => a + b, 0);
    return row.map((v) => (sum > 0 ? (v / sum) * counts[i] : 0));
  });
  const total = scaled.reduce((a, row) => a + row.reduce((b, v) => b + v, 0), 0);
  const calibrated = scaled.map((row) => row.map((v) => (total > 0 ? (v / total) * n : 0)));
  const out = calibrated.map((row) => roundPreservingSum(row));
  if (out.length !== K) throw new Error('internal: calibrated joint has the wrong size');
  return out;
}

/**
 * The prune counts of row i: like the calibrated joint, but with at least
 * `minKeep` rows kept on the diagonal (never more than the class has). What is
 * added to the diagonal is taken from the off-diagonal entries in proportion
 * to their size (cleanlab takes it uniformly from the non-zero ones), so the
 * row keeps its sum.
 */
export function pruneCounts(cj: readonly (readonly number[])[], counts: readonly number[], minKeep: number): number[][] {
  return cj.map((row, i) => {
    const out = row.slice();
    const keep = Math.min(minKeep, counts[i]);
    const missing = keep - out[i];
    if (missing <= 0) return out;
    let off = 0;
    for (let j = 0; j < out.length; j++) if (j !== i) off += out[j];
    const floats = out.map((v, j) => (j === i ? keep : off > 0 ? Math.max(0, v - (missing * v) / off) : 0));
    return roundPreservingSum(floats);
  });
}

/** Label quality of every row (lower = more likely mislabelled). */
export function labelQualityScores(probs: ArrayLike<number>, labels: ArrayLike<number>, numClasses: number, rankBy: LabelRankBy): Float64Array {
  const n = labels.length;
  const scores = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const base = r * numClasses;
    const y = labels[r];
    const self = probs[base + y];
    if (rankBy === 'self_confidence') {
      scores[r] = self;
    } else {
      let other = -Infinity;
      for (let j = 0; j < numClasses; j++) if (j !== y && probs[base + j] > other) other = probs[base + j];
      scores[r] = (self - other + 1) / 2;
    }
  }
  return scores;
}

/** Row indices of `rows` sorted by `key` descending (ties: lower index first); the first `count`. */
function topBy(rows: readonly number[], key: (r: number) => number, count: number): number[] {
  return rows
    .map((r) => ({ r, k: key(r) }))
    .sort((a, b) => b.k - a.k || a.r - b.r)
    .slice(0, count)
    .map((e) => e.r);
}

// ---------------------------------------------------------------------------
// Everything together
// ---------------------------------------------------------------------------

/**
 * Finds the rows whose given label is probably wrong. See the file comment for
 * the method. Throws a TypeError naming the bad argument.
 */
export function findLabelIssues(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  numClasses: number,
  options: ConfidentLearningOptions = {},
): ConfidentLearningResult {
  const filter = options.filter ?? 'low_self_confidence';
  const rankBy = options.rankBy ?? 'self_confidence';
  const minExamples = options.minExamplesPerClass ?? 1;
  if (!LABEL_FILTERS.includes(filter)) {
    throw new TypeError(`Expected one of ${LABEL_FILTERS.join(', ')} for filter but received ${JSON.stringify(filter)}`);
  }
  if (!LABEL_RANKINGS.includes(rankBy)) {
    throw new TypeError(`Expected one of ${LABEL_RANKINGS.join(', ')} for rankBy but received ${JSON.stringify(rankBy)}`);
  }
  if (!Number.isInteger(minExamples) || minExamples < 0) {
    throw new TypeError(`Expected non-negative integer for minExamplesPerClass but received ${String(minExamples)}`);
  }
  const n = checkInputs(probs, labels, numClasses);
  const K = numClasses;

  const counts = classCounts(labels, K);
  const thresholds = confidentThresholds(probs, labels, K);
  const confident = confidentClasses(probs, K, thresholds);
  const raw = rawConfidentJoint(labels, confident, K);
  const cj = calibrateConfidentJoint(raw, counts);
  const joint = cj.map((row) => row.map((v) => v / n));
  const noiseMatrix = cj.map((row, i) =>
    row.map((v, j) => {
      let col = 0;
      for (let g = 0; g < K; g++) col += cj[g][j];
      return col > 0 ? cj[i][j] / col : 0;
    }),
  );

  // Rows of each given class.
  const byClass: number[][] = Array.from({ length: K }, () => []);
  for (let r = 0; r < n; r++) byClass[labels[r]].push(r);
  const p = (r: number, j: number) => probs[r * K + j];

  const suggested = new Int32Array(n);
  const suggestedConfidence = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    suggested[r] = argmaxRow(probs, r, K);
    suggestedConfidence[r] = p(r, suggested[r]);
  }
  // A row the model predicts as its given label is not an issue (a tie with
  // the given label counts as predicting it).
  const predictedAsGiven = (r: number) => p(r, labels[r]) >= suggestedConfidence[r];
  let estimatedIssues = 0;
  for (let r = 0; r < n; r++) if (confident[r] >= 0 && confident[r] !== labels[r] && !predictedAsGiven(r)) estimatedIssues++;

  const rankFilter = filter === 'low_self_confidence' || filter === 'low_normalized_margin';
  const prune = pruneCounts(cj, counts, minExamples);
  const byNoiseRate = new Uint8Array(n);
  const byClassMask = new Uint8Array(n);
  const byRank = new Uint8Array(n);
  if (rankFilter) {
    // The estimatedIssues rows of lowest label quality, each class keeping minExamples rows.
    const quality = labelQualityScores(probs, labels, K, filter === 'low_self_confidence' ? 'self_confidence' : 'normalized_margin');
    const left = counts.slice();
    const order = Array.from({ length: n }, (_, r) => r).sort((a, b) => quality[a] - quality[b] || a - b);
    let taken = 0;
    for (const r of order) {
      if (taken >= estimatedIssues) break;
      if (predictedAsGiven(r) || left[labels[r]] <= minExamples) continue;
      byRank[r] = 1;
      left[labels[r]]--;
      taken++;
    }
  }
  for (let i = 0; i < K && !rankFilter; i++) {
    const rows = byClass[i];
    if (rows.length <= minExamples) continue; // too few rows to remove any
    if (filter !== 'prune_by_class') {
      for (let j = 0; j < K; j++) {
        if (j === i || prune[i][j] <= 0) continue;
        for (const r of topBy(rows, (row) => p(row, j) - p(row, i), prune[i][j])) byNoiseRate[r] = 1;
      }
    }
    if (filter !== 'prune_by_noise_rate') {
      const remove = rows.length - prune[i][i];
      if (remove > 0) for (const r of topBy(rows, (row) => -p(row, i), remove)) byClassMask[r] = 1;
    }
  }

  const scores = labelQualityScores(probs, labels, K, rankBy);

  const flaggedRows: number[] = [];
  for (let r = 0; r < n; r++) {
    const hit = rankFilter
      ? byRank[r]
      : filter === 'prune_by_noise_rate'
        ? byNoiseRate[r]
        : filter === 'prune_by_class'
          ? byClassMask[r]
          : byNoiseRate[r] & byClassMask[r];
    if (!hit || predictedAsGiven(r)) continue;
    flaggedRows.push(r);
  }
  flaggedRows.sort((a, b) => scores[a] - scores[b] || a - b);

  const flaggedPerClass = new Array<number>(K).fill(0);
  for (const r of flaggedRows) flaggedPerClass[labels[r]]++;
  const perClass: ClassNoise[] = counts.map((rows, i) => {
    const errors = rows - cj[i][i];
    return {
      rows,
      threshold: Number.isNaN(thresholds[i]) ? null : thresholds[i],
      estimatedErrors: errors,
      estimatedNoiseRate: rows > 0 ? errors / rows : 0,
      flagged: flaggedPerClass[i],
    };
  });

  return {
    rows: n,
    numClasses: K,
    filter,
    rankBy,
    thresholds,
    classCounts: counts,
    rawConfidentJoint: raw,
    confidentJoint: cj,
    joint,
    noiseMatrix,
    perClass,
    estimatedErrors: perClass.reduce((a, c) => a + c.estimatedErrors, 0),
    estimatedIssues,
    flagged: Int32Array.from(flaggedRows),
    scores,
    suggested,
    suggestedConfidence,
  };
}
