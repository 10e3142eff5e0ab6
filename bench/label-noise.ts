/**
 * Wrong-label detection, measured: flip a seeded 10% of the labels of
 * ../shared/data/shop10/train.tsv uniformly to other classes (the noisy copy is
 * written to a temp folder, never into shared/), run `detect-wrong-labels`
 * (5 folds, TextCNN with the reference sizes, the [labels] defaults unless the
 * flags below say otherwise), and report the precision and
 * recall of the flagged rows against the true flips. Then `clean-labels`, and
 * train a TextCNN with `train` on the noisy, the cleaned (flagged rows dropped)
 * and the original train file and report each one's accuracy on shop10
 * eval.tsv.
 *
 * Targets: precision >= 0.8, recall >= 0.7; the cleaned file recovers
 * at least half of the eval accuracy the noise cost:
 *   recovered = (acc_cleaned - acc_noisy) / (acc_original - acc_noisy).
 * The trainings (noisy, cleaned, relabelled, original) use the same config and vocab, each file trained
 * once per seed of TRAIN_SEEDS (accuracies averaged), and `train`'s usual
 * best-epoch choice on eval.tsv; each cross-validation fold picks its best epoch on
 * its held-out part instead (detection never looks at eval.tsv).
 *
 *   npm run bench -- label-noise            the full run (5 folds + 3 trainings)
 *   npm run bench -- label-noise --quick    3,000 train rows, 2 epochs: checks the wiring
 *   npm run bench -- label-noise --data=DIR another data folder (train.tsv, eval.tsv, class_id.txt)
 *   npm run bench -- label-noise --noise=RATE another share of flipped labels (default 0.1)
 *   npm run bench -- label-noise --repeats=R --filter=F --model=M
 *                                           [labels] repeats / filter / model of the detection
 *                                           (default: the config defaults)
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { Cell, Suite, SuiteResult } from './harness';
import { parseSuiteFlags } from './suite-flags';
import { seededRandom } from '../lib/util/random';

const repoRoot = path.resolve(__dirname, '..');
const defaultDataDir = path.resolve(repoRoot, '..', 'shared', 'data', 'shop10');

/** Share of labels flipped (--noise=RATE changes it; the issue's targets are for 0.1). */
const NOISE_RATE = 0.1;
const NOISE_SEED = 20240611;
const FOLDS = 5;
/** Epochs of each cross-validation fold: CV costs 5 trainings, and out-of-fold probabilities need a good model, not the best one. */
const DETECT_EPOCHS = 6;
/** The other filters' numbers are computed from the same out-of-fold probabilities and reported too. */
const FILTERS = ['low_self_confidence', 'low_normalized_margin', 'prune_by_noise_rate', 'prune_by_class', 'both'] as const;

interface LabelFlags {
  /** Share of train labels to flip. */
  noise: number;
  /** [labels] repeats / filter / model for detection; null = the config default. */
  repeats: number | null;
  filter: string | null;
  model: string | null;
}

/** Takes this suite's own flags (--noise=RATE, --repeats=R, --filter=F, --model=M) out of `args`; the rest go to parseSuiteFlags. */
function labelFlags(args: readonly string[]): { flags: LabelFlags; rest: string[] } {
  const flags: LabelFlags = { noise: NOISE_RATE, repeats: null, filter: null, model: null };
  const rest: string[] = [];
  for (const arg of args) {
    const m = /^--(noise|repeats|filter|model)=(.*)$/.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    if (m[2] === '') throw new Error(`bench label-noise: --${m[1]} needs a value, as --${m[1]}=VALUE`);
    if (m[1] === 'noise') {
      const r = Number(m[2]);
      if (!(r > 0 && r < 1)) throw new Error(`bench label-noise: expected a number in (0, 1) for --noise but received ${JSON.stringify(m[2])}`);
      flags.noise = r;
    } else if (m[1] === 'repeats') {
      const n = Number(m[2]);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bench label-noise: expected positive integer for --repeats but received ${JSON.stringify(m[2])}`);
      flags.repeats = n;
    } else if (m[1] === 'filter') {
      if (!(FILTERS as readonly string[]).includes(m[2])) throw new Error(`bench label-noise: expected one of ${FILTERS.join(', ')} for --filter but received ${JSON.stringify(m[2])}`);
      flags.filter = m[2];
    } else {
      flags.model = m[2];
    }
  }
  return { flags, rest };
}
/** Epochs of the comparison trainings (the example shop10 config's). */
const TRAIN_EPOCHS = 8;
/**
 * Seeds of the comparison trainings: each file is trained once per seed and the mean
 * accuracy compared. One TextCNN's eval accuracy moves by ~2 points from seed to seed
 * on this data (0.845 to 0.871 on the original file), as much as the noise costs, so
 * one seed says little about "recovered".
 */
const TRAIN_SEEDS = [42, 1, 2, 3, 4];
const QUICK_ROWS = 3000;
const QUICK_EPOCHS = 2;

interface Noisy {
  lines: string[];
  /** 1-based line numbers whose label was flipped. */
  flipped: Set<number>;
}

/** Flips round(rate * n) seeded rows, each to one of the other classes chosen uniformly. */
export function flipLabels(lines: readonly string[], classes: readonly string[], rate: number, seed: number): Noisy {
  const random = seededRandom(seed);
  const order = lines.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const flipped = new Set<number>();
  const out = lines.slice();
  for (const i of order.slice(0, Math.round(rate * lines.length))) {
    const tab = out[i].lastIndexOf('\t');
    const label = out[i].slice(tab + 1);
    const others = classes.filter((c) => c !== label);
    out[i] = `${out[i].slice(0, tab)}\t${others[Math.floor(random() * others.length)]}`;
    flipped.add(i + 1);
  }
  return { lines: out, flipped };
}

function configText(dir: string, data: string, train: string, epochs: number, forDetection: boolean, labels: LabelFlags, seed = 42): string {
  return [
    '; written by bench/label-noise.ts',
    '[data]',
    `train = ${train}`,
    `eval = ${path.join(data, 'eval.tsv')}`,
    `class_id = ${path.join(data, 'class_id.txt')}`,
    `vocab = ${path.join(dir, 'vocab.txt')}`,
    // Only the detection config says where clean-labels writes (a training config's train may be that file).
    ...(forDetection ? [`cleaned_train = ${path.join(dir, 'train.cleaned.tsv')}`] : []),
    '[model]',
    `dir = ${path.join(dir, 'runs')}`,
    'max_length = 128',
    'students = textcnn',
    ...(labels.model?.includes('gru') ? ['[gru]', 'embedding_dim = 128', 'hidden = 128', 'dropout = 0.5', 'learning_rate = 0.002'] : []),
    '[textcnn]',
    'embedding_dim = 128',
    'windows = 3,4,5',
    'filters = 128',
    'dropout = 0.5',
    '[train]',
    `epochs = ${epochs}`,
    'batch_size = 64',
    'learning_rate = 0.001',
    'threads = 0',
    `seed = ${seed}`,
    '[labels]',
    `folds = ${FOLDS}`,
    ...(labels.repeats !== null ? [`repeats = ${labels.repeats}`] : []),
    ...(labels.filter !== null ? [`filter = ${labels.filter}`] : []),
    ...(labels.model !== null ? [`model = ${labels.model}`] : []),
    'rank_by = self_confidence',
    '',
  ].join('\n');
}

async function run(args: string[] = []): Promise<SuiteResult> {
  const own = labelFlags(args);
  const labels = own.flags;
  const flags = parseSuiteFlags(own.rest, 'label-noise');
  const dataDir = flags.data ?? defaultDataDir;
  const columns = ['step', 'train rows', 'flagged', 'precision', 'recall', 'eval accuracy', 'seconds'];
  for (const f of ['train.tsv', 'eval.tsv', 'class_id.txt']) {
    if (!fs.existsSync(path.join(dataDir, f))) return { skipped: `data not found at ${path.join(dataDir, f)}`, columns, rows: [] };
  }
  const { detectWrongLabels } = await import('../lib/labels/detect');
  const { cleanLabels } = await import('../lib/labels/clean');
  const { trainFromConfig } = await import('../lib/pipeline/train');
  const { readClassIds } = await import('../lib/data');

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'model-distill-label-noise-'));
  const log = (line: string) => process.stderr.write(`${line}\n`);
  try {
    const classes = readClassIds(path.join(dataDir, 'class_id.txt')).labels;
    let original = fs.readFileSync(path.join(dataDir, 'train.tsv'), 'utf8').split('\n').filter((l) => l !== '');
    if (flags.quick) original = original.slice(0, QUICK_ROWS);
    const detectEpochs = flags.quick ? QUICK_EPOCHS : DETECT_EPOCHS;
    const trainEpochs = flags.quick ? QUICK_EPOCHS : TRAIN_EPOCHS;

    const originalFile = path.join(tmp, 'train.original.tsv');
    const noisyFile = path.join(tmp, 'train.noisy.tsv');
    const noisy = flipLabels(original, classes, labels.noise, NOISE_SEED);
    fs.writeFileSync(originalFile, original.join('\n') + '\n');
    fs.writeFileSync(noisyFile, noisy.lines.join('\n') + '\n');
    log(`label-noise: ${noisy.flipped.size} of ${original.length} labels flipped (seed ${NOISE_SEED}) in ${noisyFile}`);

    // 1. Detection on the noisy file.
    const detectConfig = path.join(tmp, 'detect.ini');
    fs.writeFileSync(detectConfig, configText(tmp, dataDir, noisyFile, detectEpochs, true, labels));
    const t0 = Date.now();
    const detection = await detectWrongLabels(detectConfig, 'detect', { log, progress: process.stderr });
    const detectSeconds = (Date.now() - t0) / 1000;
    const flaggedLines = detection.flagged.map((r) => r.line);
    const truePositives = flaggedLines.filter((l) => noisy.flipped.has(l)).length;
    const precision = flaggedLines.length > 0 ? truePositives / flaggedLines.length : 0;
    const recall = truePositives / Math.max(1, noisy.flipped.size);
    // Of the true flips found, how many got their original label back as the suggestion.
    const originalLabel = new Map(original.map((l, i) => [i + 1, l.slice(l.lastIndexOf('\t') + 1)]));
    const suggestionRight = detection.flagged.filter((r) => noisy.flipped.has(r.line) && originalLabel.get(r.line) === r.suggestedLabel).length;

    // The same out-of-fold probabilities under every filter, and the best any
    // count could do: the top rows by self-confidence, as many as were flipped.
    const { findLabelIssues } = await import('../lib/labels/confident-learning');
    const score = (lines: number[]) => {
      const tp = lines.filter((l) => noisy.flipped.has(l)).length;
      return { flagged: lines.length, precision: lines.length > 0 ? tp / lines.length : 0, recall: tp / Math.max(1, noisy.flipped.size) };
    };
    const perFilter: Record<string, { flagged: number; precision: number; recall: number }> = {};
    for (const filter of FILTERS) {
      const r = findLabelIssues(detection.probabilities, detection.givenLabels, classes.length, { filter });
      perFilter[filter] = score(Array.from(r.flagged, (i) => detection.lineNumbers[i]));
    }
    const C = classes.length;
    const bySelf = Array.from(detection.givenLabels, (y, i) => ({ line: detection.lineNumbers[i], self: detection.probabilities[i * C + y] }))
      .sort((a, b) => a.self - b.self)
      .slice(0, noisy.flipped.size);
    const topK = score(bySelf.map((e) => e.line));

    // The original file has label errors and ambiguous rows of its own: detect on
    // it too, with the same settings, and count the noisy run's flags that are
    // either flips or flagged there as well.
    const originalConfig = path.join(tmp, 'detect-original.ini');
    fs.writeFileSync(originalConfig, configText(tmp, dataDir, originalFile, detectEpochs, false, labels));
    const onOriginal = await detectWrongLabels(originalConfig, 'detect-original', { log, progress: process.stderr });
    const flaggedOnOriginal = new Set(onOriginal.flagged.map((r) => r.line));
    const explained = flaggedLines.filter((l) => noisy.flipped.has(l) || flaggedOnOriginal.has(l)).length;

    // 2. Clean: drop the flagged rows; and, apart, relabel the confident ones.
    const cleaned = await cleanLabels(detectConfig, 'detect');
    const relabelledFile = path.join(tmp, 'train.relabelled.tsv');
    fs.copyFileSync(cleaned.output, path.join(tmp, 'train.dropped.tsv'));
    const relabelled = await cleanLabels(detectConfig, 'detect', { relabel: true });
    fs.renameSync(relabelled.output, relabelledFile);

    // 3. Train on noisy, cleaned, relabelled, original: same config but the train file.
    const trainings: { name: string; file: string }[] = [
      { name: 'noisy', file: noisyFile },
      { name: 'cleaned', file: path.join(tmp, 'train.dropped.tsv') },
      { name: 'relabelled', file: relabelledFile },
      { name: 'original', file: originalFile },
    ];
    const accuracy: Record<string, number> = {};
    const rows: Record<string, Cell>[] = [
      {
        step: `detect (${FOLDS}-fold ${detection.settings.model}${detection.settings.repeats > 1 ? ` x ${detection.settings.repeats} splits` : ''}, ${detectEpochs} epochs, ${detection.settings.filter})`,
        'train rows': original.length,
        flagged: flaggedLines.length,
        precision: Number(precision.toFixed(4)),
        recall: Number(recall.toFixed(4)),
        'eval accuracy': null,
        seconds: Math.round(detectSeconds),
      },
    ];
    const seeds = flags.quick ? TRAIN_SEEDS.slice(0, 1) : TRAIN_SEEDS;
    const perSeed: Record<string, number[]> = {};
    for (const t of trainings) {
      const started = Date.now();
      perSeed[t.name] = [];
      for (const seed of seeds) {
        const config = path.join(tmp, `train-${t.name}-${seed}.ini`);
        fs.writeFileSync(config, configText(tmp, dataDir, t.file, trainEpochs, false, labels, seed));
        const summary = await trainFromConfig(config, `${t.name}-${seed}`, { log, progress: process.stderr });
        perSeed[t.name].push(summary.students[0].reloadedEvalAccuracy);
      }
      accuracy[t.name] = perSeed[t.name].reduce((a, b) => a + b, 0) / seeds.length;
      rows.push({
        step: `train TextCNN on ${t.name} (${trainEpochs} epochs, mean of ${seeds.length} seed${seeds.length > 1 ? 's' : ''})`,
        'train rows': fs.readFileSync(t.file, 'utf8').split('\n').filter((l) => l !== '').length,
        flagged: null,
        precision: null,
        recall: null,
        'eval accuracy': Number(accuracy[t.name].toFixed(4)),
        seconds: Math.round((Date.now() - started) / 1000),
      });
    }
    const lost = accuracy.original - accuracy.noisy;
    const recovered = lost > 0 ? (accuracy.cleaned - accuracy.noisy) / lost : null;
    const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
    const notes = [
      `${noisy.flipped.size} of ${original.length} labels flipped (${pct(labels.noise)}, seed ${NOISE_SEED}); ` +
        `${flaggedLines.length} rows flagged, ${truePositives} of them true flips: precision ${precision.toFixed(3)} (target >= 0.8), ` +
        `recall ${recall.toFixed(3)} (target >= 0.7).`,
      `Confident learning counts ${detection.estimatedIssues} label issues (${pct(detection.estimatedIssues / original.length)}), ` +
        `the calibrated estimate is ${pct(detection.estimatedNoiseRate)} (true ${pct(noisy.flipped.size / original.length)}); ` +
        `suggested label = original label for ${suggestionRight} of the ${truePositives} flips found.`,
      `Same out-of-fold probabilities, other filters: ` +
        Object.entries(perFilter).map(([f, v]) => `${f} ${v.flagged} flagged, P ${v.precision.toFixed(3)} R ${v.recall.toFixed(3)}`).join('; ') +
        `; the ${noisy.flipped.size} lowest self-confidences: P ${topK.precision.toFixed(3)} R ${topK.recall.toFixed(3)}.`,
      `Detection on the ORIGINAL file (same settings) flags ${flaggedOnOriginal.size} rows; ${explained} of the ${flaggedLines.length} ` +
        `rows flagged here are flips or flagged there too (${pct(explained / Math.max(1, flaggedLines.length))}): many "false" flags are ` +
        `rows the original data itself gets wrong or leaves ambiguous.`,
      `clean-labels dropped ${cleaned.dropped} rows, kept ${cleaned.kept}; with --relabel (confidence >= ${relabelled.minConfidence}) ` +
        `relabelled ${relabelled.relabelled}, dropped ${relabelled.dropped}.`,
      `Eval accuracy (mean over the training seeds): original ${accuracy.original.toFixed(4)}, noisy ${accuracy.noisy.toFixed(4)}, cleaned ${accuracy.cleaned.toFixed(4)}, ` +
        `relabelled ${accuracy.relabelled.toFixed(4)}; ` +
        (recovered === null
          ? `the noise cost no accuracy here (${lost.toFixed(4)}), so "recovered" is undefined.`
          : `the noise cost ${(100 * lost).toFixed(2)} points, cleaning recovered ${pct(recovered)} of them (target >= 50%), ` +
            `relabelling ${pct((accuracy.relabelled - accuracy.noisy) / lost)}.`),
      `Eval accuracy per training seed (${seeds.join(', ')}): ` +
        trainings.map((t) => `${t.name} ${perSeed[t.name].map((a) => a.toFixed(3)).join(' ')}`).join('; ') + '.',
      'Each training keeps its best epoch on eval.tsv (as `train` does), the same for all four.',
    ];
    return {
      columns,
      rows,
      notes,
      extra: {
        settings: {
          data: dataDir,
          quick: flags.quick,
          noiseRate: labels.noise,
          noiseSeed: NOISE_SEED,
          folds: FOLDS,
          repeats: detection.settings.repeats,
          detectModel: detection.settings.model,
          detectEpochs,
          trainEpochs,
          model: 'textcnn E=128, windows 3/4/5 x 128, dropout 0.5, max_length 128, batch 64, Adam lr 1e-3, seed 42',
        },
        detection: {
          rows: original.length,
          flipped: noisy.flipped.size,
          flagged: flaggedLines.length,
          truePositives,
          precision,
          recall,
          suggestionEqualsOriginal: suggestionRight,
          estimatedIssues: detection.estimatedIssues,
          estimatedNoiseRate: detection.estimatedNoiseRate,
          filter: detection.settings.filter,
          perFilter,
          lowestSelfConfidence: topK,
          flaggedOnOriginal: flaggedOnOriginal.size,
          flaggedThatAreFlipsOrFlaggedOnOriginal: explained,
          perClass: detection.perClass,
          folds: detection.foldReports,
          seconds: detectSeconds,
        },
        clean: { kept: cleaned.kept, dropped: cleaned.dropped },
        relabel: { minConfidence: relabelled.minConfidence, relabelled: relabelled.relabelled, dropped: relabelled.dropped },
        recoveredFractionRelabelled: lost > 0 ? (accuracy.relabelled - accuracy.noisy) / lost : null,
        trainSeeds: seeds,
        evalAccuracy: accuracy,
        evalAccuracyPerSeed: perSeed,
        accuracyLostToNoise: lost,
        recoveredFraction: recovered,
        targets: { precision: 0.8, recall: 0.7, recoveredFraction: 0.5 },
        met: { precision: precision >= 0.8, recall: recall >= 0.7, recovered: recovered !== null && recovered >= 0.5 },
      },
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

export const suite: Suite = {
  name: 'label-noise',
  description: 'wrong-label detection on shop10 with 10% (--noise) flipped labels: precision/recall of the flags, eval accuracy noisy vs cleaned vs original',
  run,
};
