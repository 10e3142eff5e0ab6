/**
 * The native teacher's architecture and fine-tuning settings from [teacher], and how a
 * teacher of one model (the native transformer or an ONNX file) reads texts:
 * [CLS] pieces [SEP] with its own tokenizer. Used by the native and ONNX teachers and by
 * masked-LM pre-training (which trains the same architecture).
 */
import type { Config } from '../../config';
import type { EncodedRows, StudentTrainOptions, TransformerSpec } from '../../student';
import type { Tokenizer } from '../../tokenizer';
import type { Teacher, TeacherIdentity, TeacherModel } from './types';

/** BERT's fine-tuning clips the global gradient norm at 1.0; [teacher] has no key for it. */
const TEACHER_CLIP_NORM = 1.0;

/** The teacher's architecture, from [teacher]. */
export function teacherSpec(config: Config, vocabSize: number, numClasses: number): TransformerSpec {
  const t = config.teacher;
  return {
    kind: 'transformer',
    vocabSize,
    numClasses,
    hidden: t.hidden,
    layers: t.layers,
    heads: t.heads,
    intermediate: t.intermediate,
    maxPositions: t.max_length,
    dropout: t.dropout,
    pooler: true,
    seed: config.train.seed,
  };
}

/** The teacher's fine-tuning settings, from [teacher] (threads and seed from [train]). */
export function teacherTrainOptions(config: Config): StudentTrainOptions {
  const t = config.teacher;
  return {
    epochs: t.epochs,
    batchSize: t.batch_size,
    learningRate: t.learning_rate,
    optimizer: 'adamw',
    weightDecay: t.weight_decay,
    warmup: t.warmup,
    lrDecay: 'linear',
    clipNorm: TEACHER_CLIP_NORM,
    threads: config.train.threads,
    seed: config.train.seed,
    keepBest: true,
  };
}

/** Teacher tokenisation: [CLS] pieces [SEP] with the teacher's tokenizer. */
export async function encodeForTeacher(tokenizer: Tokenizer, texts: string[], maxLength: number): Promise<EncodedRows> {
  const enc = await tokenizer.encodeBatchAsync(texts, { maxLength, addSpecialTokens: true });
  return { ids: enc.ids, lengths: enc.lengths, maxLength: enc.maxLength };
}

/**
 * A teacher of one model: texts become [CLS] pieces [SEP] (at most maxLength ids) with
 * `tokenizer` (the students' one, or a checkpoint's / ONNX model's vocab.txt).
 */
export function singleModelTeacher(identity: TeacherIdentity, model: TeacherModel, tokenizer: Tokenizer, maxLength: number): Teacher {
  return {
    identity,
    logits: async (texts, threads) => model.predictLogits(await encodeForTeacher(tokenizer, texts, maxLength), { threads, batchSize: 64 }),
  };
}
