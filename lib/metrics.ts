/**
 * Classification metrics for `model-distill eval`: accuracy, per-class
 * precision / recall / F1, macro-F1 and the confusion matrix, plus a plain-text
 * rendering of them.
 *
 * The conventions are those of native/core/metrics.h (and scikit-learn's
 * classification_report), so the numbers `eval` prints match the trainer's
 * per-epoch ones:
 *   - a class with no predictions has precision 0, with no true rows recall 0;
 *     F1 is 0 when precision + recall is 0;
 *   - macro-F1 averages F1 over the classes that occur in the truth or in the
 *     predictions (a class absent from both says nothing about the model);
 *   - confusion[t][p] counts rows of true class t predicted as p.
 * Computing them here in TypeScript keeps `eval` free of the addon for
 * everything but prediction; it is a few loops over n integers.
 */

export interface ClassMetrics {
  label: string;
  precision: number;
  recall: number;
  f1: number;
  /** True rows of the class. */
  support: number;
  /** Rows predicted as the class. */
  predicted: number;
}

export interface ClassificationReport {
  n: number;
  accuracy: number;
  macroF1: number;
  perClass: ClassMetrics[];
  /** confusion[t][p]: rows of true class t predicted as p. */
  confusion: number[][];
  labels: string[];
}

function checkIds(name: string, ids: ArrayLike<number>, classes: number): void {
  for (let i = 0; i < ids.length; i++) {
    const v = ids[i];
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new RangeError(`Expected class ids in [0, ${classes}) for ${name} but received ${v} at row ${i}`);
    }
  }
}

/** The report for `truth` vs `predicted` (class ids in [0, labels.length)). */
export function classificationReport(truth: ArrayLike<number>, predicted: ArrayLike<number>, labels: readonly string[]): ClassificationReport {
  const C = labels.length;
  if (C < 1) throw new RangeError('Expected at least one class label but received none');
  if (truth.length !== predicted.length) {
    throw new RangeError(`Expected as many predictions as true labels but received ${predicted.length} predictions for ${truth.length} labels`);
  }
  checkIds('truth', truth, C);
  checkIds('predicted', predicted, C);
  const n = truth.length;
  const confusion = Array.from({ length: C }, () => new Array<number>(C).fill(0));
  let correct = 0;
  for (let i = 0; i < n; i++) {
    confusion[truth[i]][predicted[i]]++;
    if (truth[i] === predicted[i]) correct++;
  }
  const perClass: ClassMetrics[] = [];
  let f1Sum = 0;
  let present = 0;
  for (let c = 0; c < C; c++) {
    const tp = confusion[c][c];
    let support = 0;
    let predictedAs = 0;
    for (let k = 0; k < C; k++) {
      support += confusion[c][k];
      predictedAs += confusion[k][c];
    }
    const precision = predictedAs > 0 ? tp / predictedAs : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    perClass.push({ label: labels[c], precision, recall, f1, support, predicted: predictedAs });
    if (support > 0 || predictedAs > 0) {
      f1Sum += f1;
      present++;
    }
  }
  return {
    n,
    accuracy: n > 0 ? correct / n : 0,
    macroF1: present > 0 ? f1Sum / present : 0,
    perClass,
    confusion,
    labels: labels.slice(),
  };
}

/** Index of the largest value of each row of a row-major [n, C] matrix (first one on ties). */
export function argmaxRows(values: ArrayLike<number>, C: number): Int32Array {
  if (!Number.isInteger(C) || C < 1) throw new RangeError(`Expected positive integer for C but received ${C}`);
  if (values.length % C !== 0) throw new RangeError(`Expected a multiple of ${C} values but received ${values.length}`);
  const n = values.length / C;
  const out = new Int32Array(n);
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (values[r * C + c] > values[r * C + best]) best = c;
    out[r] = best;
  }
  return out;
}

const pct = (x: number) => (100 * x).toFixed(2);

/** Pads each column to its widest cell; the first column left-aligned, the others right-aligned. */
function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => [...r[c]].length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
}

/**
 * The report as text: a summary line, a per-class table and the confusion
 * matrix (rows = true class, columns = predicted class, in class-id order).
 */
export function formatReport(report: ClassificationReport, title: string): string {
  const lines = [`${title}: accuracy ${pct(report.accuracy)}%  macro-F1 ${pct(report.macroF1)}%  (n = ${report.n})`, ''];
  const perClass = [['class', 'precision', 'recall', 'F1', 'support', 'predicted']];
  for (const m of report.perClass) {
    perClass.push([m.label, pct(m.precision), pct(m.recall), pct(m.f1), String(m.support), String(m.predicted)]);
  }
  lines.push(...table(perClass).map((l) => '  ' + l), '');
  // Columns of the confusion matrix are labelled by class id (a legend follows)
  // so a table of ten long Chinese class names still fits a terminal.
  const header = ['true \\ predicted', ...report.labels.map((_, i) => String(i))];
  const rows = [header, ...report.confusion.map((row, t) => [`${t} ${report.labels[t]}`, ...row.map(String)])];
  lines.push('  confusion matrix (rows: true class, columns: predicted class id)');
  lines.push(...table(rows).map((l) => '  ' + l));
  return lines.join('\n') + '\n';
}
