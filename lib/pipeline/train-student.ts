/**
 * Step 4 of `train`, once per student in [model] students: build the model from
 * its config section, start its embeddings from pretrained vectors when the
 * section names a file, train it (progress on stderr, per-epoch metrics into
 * the run log), keep its best epoch, save its model folder, and check that the
 * saved folder, loaded the way users load it, scores the eval rows the same.
 */
import * as path from 'path';

import type { Config, StudentKind } from '../config';
import { argmaxRows } from '../metrics';
import { formatCount, formatDuration, formatScore, type ProgressWriter } from '../progress';
import { Classifier } from '../classifier';
import { saveModelFolder } from '../model-folder';
import { NativeStudent, type EpochReport, type GruSpec, type StudentTrainOptions, type TextCnnSpec, type TrainHooks, type TrainReport } from '../student';
import { readWord2Vec } from '../vectors';
import { epochProgressHooks } from './epoch-progress';
import { poolTrainSource, POOL_PART_ROWS } from './pool-stream';
import type { PreparedData } from './prepare-data';
import type { RunLog } from './run-log';
import type { RunProgressListener } from './run-progress';
import type { SoftTargets } from './teacher/types';

/** The architecture of a student, from its config section. */
export function studentSpec(config: Config, kind: StudentKind, vocabSize: number, numClasses: number): TextCnnSpec | GruSpec {
  const seed = config.train.seed;
  if (kind === 'textcnn') {
    const c = config.textcnn;
    return { kind, vocabSize, numClasses, embeddingDim: c.embedding_dim, windows: c.windows.slice(), filters: c.filters, dropout: c.dropout, seed };
  }
  const g = config.gru;
  return { kind, vocabSize, numClasses, embeddingDim: g.embedding_dim, hidden: g.hidden, bidirectional: g.bidirectional, dropout: g.dropout, seed };
}

/** The optimisation settings of a student: [train], with the section's learning_rate. */
export function studentTrainOptions(config: Config, kind: StudentKind): StudentTrainOptions {
  const t = config.train;
  return {
    epochs: t.epochs,
    batchSize: t.batch_size,
    learningRate: config[kind].learning_rate,
    optimizer: t.optimizer,
    weightDecay: t.weight_decay,
    warmup: t.warmup,
    lrDecay: t.lr_decay,
    clipNorm: t.clip_norm,
    threads: t.threads,
    seed: t.seed,
    keepBest: true,
  };
}

export interface StudentResult {
  kind: StudentKind;
  dir: string;
  parameters: number;
  bestEpoch: number;
  /** Eval accuracy / macro-F1 of the best epoch, as the trainer measured them. */
  evalAccuracy: number | null;
  evalMacroF1: number | null;
  /** Eval accuracy of the saved folder, loaded with Classifier (must equal evalAccuracy). */
  reloadedEvalAccuracy: number;
  examplesPerSecond: number;
  seconds: number;
  epochs: EpochReport[];
  embeddings: { source: string; found: number; total: number; ratio: number } | null;
}

export interface StudentStepOptions {
  /** Where progress bars go; false = no bars (the per-epoch lines still go to the log). */
  progress: ProgressWriter | false;
  signal?: AbortSignal;
  onProgress?: RunProgressListener;
  /** Pool texts per streamed part (tests); default POOL_PART_ROWS. */
  poolPartRows?: number;
}

export async function trainStudentStep(
  config: Config,
  kind: StudentKind,
  data: PreparedData,
  soft: SoftTargets | null,
  runFolder: string,
  log: RunLog,
  options: StudentStepOptions,
): Promise<StudentResult> {
  const numClasses = data.classIds.labels.length;
  const spec = studentSpec(config, kind, data.vocabTokens.length, numClasses);
  const trainOptions = studentTrainOptions(config, kind);
  if (soft !== null) {
    // Distillation: [distill] epochs (pool_epochs with the pool), temperature, alpha and loss.
    trainOptions.epochs = soft.pool !== null ? config.distill.pool_epochs : config.distill.epochs;
    trainOptions.temperature = config.distill.temperature;
    trainOptions.alpha = config.distill.alpha;
    trainOptions.distillLoss = config.distill.loss;
  }
  const student: NativeStudent = NativeStudent.create(spec);
  log.info(`${kind}: ${describeSpec(spec)}, ${formatCount(student.parameterCount)} parameters; ` +
    `${trainOptions.epochs} epochs, batch ${trainOptions.batchSize}, learning rate ${trainOptions.learningRate}, ${trainOptions.optimizer}`);

  let embeddings: StudentResult['embeddings'] = null;
  const vectorsPath = config[kind].pretrained_vectors;
  if (vectorsPath !== null) {
    const vectors = await readWord2Vec(vectorsPath, data.vocabTokens);
    if (vectors.dim !== spec.embeddingDim) {
      // loadConfig makes embedding_dim follow the file; this guards a file changed since.
      throw new Error(`${vectorsPath}: vectors have dimension ${vectors.dim} but the ${kind} embedding has ${spec.embeddingDim}`);
    }
    student.setEmbeddings(vectors.vectors, vectors.found);
    embeddings = { source: vectorsPath, ...vectors.coverage };
    log.info(
      `${kind}: pretrained vectors cover ${formatCount(vectors.coverage.found)} of ${formatCount(vectors.coverage.total)} vocabulary tokens ` +
        `(${(100 * vectors.coverage.ratio).toFixed(1)}%) from ${vectorsPath}; the rest start random`,
    );
  }

  const poolRows = soft?.pool?.rows ?? 0;
  const rows = data.trainRows.lengths.length + poolRows;
  const partRows = options.poolPartRows ?? POOL_PART_ROWS;
  if (soft !== null) {
    log.info(
      `${kind}: distilling from teacher ${soft.teacher.weightsSha256.slice(0, 12)}… on ${formatCount(data.trainRows.lengths.length)} labelled rows ` +
        `(alpha ${config.distill.alpha})${soft.pool ? ` + ${formatCount(poolRows)} pool rows (soft labels only; streamed from ${soft.pool.path} in parts of ${formatCount(partRows)} texts, shuffled within a part)` : ''}; ` +
        `loss ${config.distill.loss}${config.distill.loss === 'kl' ? `, temperature ${config.distill.temperature}` : ''}`,
    );
  }
  // The pool is streamed (pool-stream.ts): each epoch reads it again, one part at a time.
  const source =
    soft !== null && soft.pool !== null
      ? poolTrainSource(data, soft.train, soft.pool, trainOptions.epochs, {
          batchSize: trainOptions.batchSize,
          seed: trainOptions.seed,
          partRows,
          signal: options.signal,
          onEpochRead: (epoch, c) => {
            if (epoch === 1 && c.stats.emptyLines > 0) log.info(`${kind}: pool: ${c.stats.emptyLines} empty lines skipped, ${formatCount(c.poolRows)} texts used`);
          },
        })
      : null;
  const stepsPerEpoch = source === null ? Math.ceil(rows / trainOptions.batchSize) : source.totalSteps / trainOptions.epochs;
  const started = Date.now();
  const hooks: TrainHooks = epochProgressHooks({
    label: kind,
    rows,
    train: trainOptions,
    stepsPerEpoch,
    finishText: (e) => `loss ${e.trainLoss.toFixed(4)}${e.evalAccuracy === undefined ? '' : `  eval accuracy ${formatScore(e.evalAccuracy)}`}`,
    logEpoch: (e) => {
      const evalText = e.evalAccuracy === undefined ? '' : `, eval accuracy ${formatScore(e.evalAccuracy)} macro-F1 ${formatScore(e.evalMacroF1)} loss ${formatScore(e.evalLoss)}`;
      log.info(`${kind} epoch ${e.epoch}/${trainOptions.epochs}: train loss ${e.trainLoss.toFixed(4)}, ${formatCount(e.examplesPerSecond)} examples/s${evalText} (${e.seconds.toFixed(1)} s)`);
    },
  }, options);
  const report: TrainReport =
    source === null
      ? await student.train(soft === null ? data.trainRows : { ...data.trainRows, softTargets: soft.train }, data.evalRows, trainOptions, hooks)
      : await student.trainStream(source, data.evalRows, trainOptions, hooks);
  if (report.cancelled) throw new Error(`${kind}: training was cancelled after ${report.epochs.length} epoch(s); nothing saved`);
  const seconds = (Date.now() - started) / 1000;
  const best = report.bestEpoch > 0 ? report.epochs.find((e) => e.epoch === report.bestEpoch) : undefined;
  log.info(
    `${kind}: trained in ${formatDuration(seconds)} (${formatCount(report.examplesPerSecond)} examples/s); ` +
      (best ? `best epoch ${best.epoch} (eval accuracy ${formatScore(best.evalAccuracy)}, macro-F1 ${formatScore(best.evalMacroF1)}) kept` : 'no eval set: last epoch kept'),
  );

  const dir = path.join(runFolder, kind);
  saveModelFolder(dir, {
    student,
    vocabTokens: data.vocabTokens,
    labels: data.classIds.labels,
    maxLength: data.maxLength,
    lowercase: data.lowercase,
    addSpecialTokens: data.addSpecialTokens,
    training: {
      uniqid: log.record.uniqid,
      config: config.file,
      options: trainOptions,
      bestEpoch: report.bestEpoch,
      evalAccuracy: best?.evalAccuracy ?? null,
      trainRows: rows,
      pretrainedVectors: embeddings,
      distill:
        soft === null
          ? null
          : {
              teacher: soft.teacher,
              temperature: config.distill.temperature,
              alpha: config.distill.alpha,
              loss: config.distill.loss,
              labelledRows: data.trainRows.lengths.length,
              poolRows,
              poolPartRows: soft.pool === null ? null : partRows,
            },
    },
  });

  // Load the folder the way `predict` and users do and score the eval texts:
  // this proves the saved weights, vocab and tokenisation reproduce training.
  const classifier = await Classifier.load(dir, { threads: config.train.threads });
  let reloaded: number;
  try {
    const probs = await classifier.predictProbabilities(data.eval.texts);
    const predicted = argmaxRows(probs, numClasses);
    let correct = 0;
    for (let i = 0; i < predicted.length; i++) if (predicted[i] === data.eval.labels[i]) correct++;
    reloaded = correct / Math.max(1, predicted.length);
  } finally {
    classifier.close();
  }
  log.info(`${kind}: saved to ${dir}; reloaded, it scores eval accuracy ${reloaded.toFixed(4)}`);
  // One row's worth of difference can come from a float tie; more means a mismatch.
  const oneRow = 1 / Math.max(1, data.eval.texts.length);
  if (best?.evalAccuracy !== undefined && Math.abs(reloaded - best.evalAccuracy) > 1.5 * oneRow) {
    log.info(`warning: ${kind}: the saved model scores ${reloaded.toFixed(4)} on eval, training measured ${formatScore(best.evalAccuracy)}; ` +
      'prediction does not reproduce training (tokenisation or weights differ)');
  }

  return {
    kind,
    dir,
    parameters: student.parameterCount,
    bestEpoch: report.bestEpoch,
    evalAccuracy: best?.evalAccuracy ?? null,
    evalMacroF1: best?.evalMacroF1 ?? null,
    reloadedEvalAccuracy: reloaded,
    examplesPerSecond: report.examplesPerSecond,
    seconds,
    epochs: report.epochs,
    embeddings,
  };
}

function describeSpec(spec: TextCnnSpec | GruSpec): string {
  if (spec.kind === 'textcnn') {
    return `TextCNN E=${spec.embeddingDim}, windows ${spec.windows.join('/')} x ${spec.filters} filters, dropout ${spec.dropout}`;
  }
  return `GRU E=${spec.embeddingDim} H=${spec.hidden}${spec.bidirectional ? ' bidirectional' : ''}, dropout ${spec.dropout}`;
}
