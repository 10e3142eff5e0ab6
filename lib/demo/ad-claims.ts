/**
 * A seeded generator of a Chinese advertising-compliance data set, the domain
 * of the reference system: compliant product copy (合规) versus five kinds of
 * false or exaggerated claims (绝对化用语, 医疗功效, 保证效果, 虚假权威, 夸大数字).
 *
 * Sentences are templates x brands x products x phrases (lib/demo/words.ts).
 * What keeps it from being a keyword lookup:
 *  - compliant copy often carries a "decoy" clause that uses a banned-looking
 *    word harmlessly (第一次使用…, 本品不能代替药物治疗, 容量500毫升);
 *  - compliant copy sometimes quotes a claim only to deny it (我们不承诺100%有效);
 *  - claims are wrapped in compliant clauses and vary in length;
 *  - some characters are swapped for look-alikes (最 -> 醉) as in real copy;
 *  - a small share of the TRAIN labels is wrong (annotators disagree), the eval
 *    labels are clean. A teacher's soft labels smooth such noise.
 *
 * writeAdClaimsDataset() writes only into the folder it is given:
 *   train.tsv  eval.tsv  unlabeled.txt  class_id.txt  config.ini
 * Same seed and options -> byte-identical files.
 */
import * as fs from 'fs';
import * as path from 'path';

import {
  ABSOLUTE, AUTHORITY, BRANDS, CLAIM_TEMPLATES, CLASSES, DECOYS, GUARANTEE, MEDICAL, NUMBERS, PLAIN_FEATURES,
  NEGATIONS, PLAIN_TEMPLATES, PRODUCTS, TYPOS, type AdClass,
} from './words';
import { writeFileAtomic } from '../util/files';
import { seededRandom } from '../util/random';

export { CLASSES } from './words';

const CLAIMS: Record<Exclude<AdClass, '合规'>, readonly string[]> = {
  绝对化用语: ABSOLUTE,
  医疗功效: MEDICAL,
  保证效果: GUARANTEE,
  虚假权威: AUTHORITY,
  夸大数字: NUMBERS,
};

export interface AdExample {
  text: string;
  label: AdClass;
}

/** Draws labelled sentences from the data set's distribution. */
export class AdClaimsGenerator {
  private readonly rand: () => number;
  constructor(seed: number) {
    this.rand = seededRandom(seed);
  }

  private pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.rand() * list.length)];
  }

  /** Compliant copy counts twice: most real copy is fine. */
  private drawLabel(): AdClass {
    const r = Math.floor(this.rand() * (CLASSES.length + 1));
    return r <= 1 ? '合规' : CLASSES[r - 1];
  }

  private fill(template: string, claim: string): string {
    const f = this.pick(PLAIN_FEATURES);
    let f2 = this.pick(PLAIN_FEATURES);
    if (f2 === f) f2 = PLAIN_FEATURES[(PLAIN_FEATURES.indexOf(f) + 1) % PLAIN_FEATURES.length];
    return template
      .replace('{b}', this.pick(BRANDS))
      .replace('{p}', this.pick(PRODUCTS))
      .replace('{c}', claim)
      .replace('{f2}', f2)
      .replace('{f}', f);
  }

  /** Replaces one character that has a look-alike, if the text has one. */
  private typo(text: string): string {
    const spots = [...text].map((ch, i) => (ch in TYPOS ? i : -1)).filter((i) => i >= 0);
    if (spots.length === 0) return text;
    const chars = [...text];
    const at = this.pick(spots);
    chars[at] = TYPOS[chars[at]];
    return chars.join('');
  }

  example(): AdExample {
    const label = this.drawLabel();
    let text: string;
    if (label === '合规') {
      text = this.fill(this.pick(PLAIN_TEMPLATES), '');
      if (this.rand() < 0.45) text = this.rand() < 0.5 ? `${this.pick(DECOYS)}，${text}` : `${text}，${this.pick(DECOYS)}`;
      if (this.rand() < 0.15) {
        const quoted = this.pick(CLAIMS[CLASSES[1 + Math.floor(this.rand() * (CLASSES.length - 1))] as Exclude<AdClass, '合规'>]);
        text = `${text}，${this.pick(NEGATIONS).replace('{c}', quoted)}`;
      }
    } else {
      text = this.fill(this.pick(CLAIM_TEMPLATES), this.pick(CLAIMS[label]));
      if (this.rand() < 0.2) text = `${text}，${this.pick(DECOYS)}`;
    }
    if (this.rand() < 0.3) text = `${text}，${this.pick(PLAIN_FEATURES)}`; // varied length
    // Look-alike typos, up to two per text: the cue a keyword rule would need is often misspelt.
    if (this.rand() < 0.3) text = this.typo(text);
    if (this.rand() < 0.15) text = this.typo(text);
    return { text, label };
  }
}

export interface AdClaimsOptions {
  seed?: number;
  train?: number;
  eval?: number;
  unlabeled?: number;
  /** Share of train rows given a wrong label (eval stays clean). Default 0.05. */
  trainLabelNoise?: number;
  /** Model sizes and epochs of the generated config.ini (see demoConfig). */
  config?: DemoConfigOptions;
}

export interface DemoConfigOptions {
  teacher?: { kind?: 'native' | 'none'; layers?: number; hidden?: number; heads?: number; intermediate?: number; epochs?: number; max_length?: number };
  embedding_dim?: number;
  filters?: number;
  gru_hidden?: number;
  /** Student epochs (default 8, as the reference; the distilled settings use the same). */
  epochs?: number;
  max_length?: number;
  threads?: number;
}

export interface AdClaimsDataset {
  dir: string;
  files: { train: string; eval: string; unlabeled: string; classId: string; config: string };
  counts: { train: number; eval: number; unlabeled: number; noisyTrainLabels: number };
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new TypeError(`Expected integer >= ${min} for ${name} but received ${value}`);
  }
}

/** The config.ini the demo runs: small models, every path inside the folder. */
export function demoConfig(options: DemoConfigOptions = {}): string {
  const t = options.teacher ?? {};
  const maxLength = options.max_length ?? 64;
  return `; Generated by model-distill's demo (lib/demo/ad-claims.ts). Paths are relative to this folder.
[data]
train = train.tsv
eval = eval.tsv
unlabeled = unlabeled.txt
class_id = class_id.txt
vocab = vocab.txt

[model]
dir = runs
max_length = ${maxLength}
students = textcnn,gru

[textcnn]
embedding_dim = ${options.embedding_dim ?? 64}
windows = 2,3,4
filters = ${options.filters ?? 64}

[gru]
embedding_dim = ${options.embedding_dim ?? 64}
hidden = ${options.gru_hidden ?? 64}
learning_rate = 0.002

[train]
epochs = ${options.epochs ?? 8}
batch_size = 64
learning_rate = 0.001
threads = ${options.threads ?? 0}
seed = 7
clip_norm = 0

[teacher]
kind = ${t.kind ?? 'native'}
layers = ${t.layers ?? 2}
hidden = ${t.hidden ?? 64}
heads = ${t.heads ?? 2}
intermediate = ${t.intermediate ?? 128}
max_length = ${t.max_length ?? maxLength}
epochs = ${t.epochs ?? 12}
learning_rate = 0.001
batch_size = 32

[distill]
temperature = 2
alpha = 0.5
`;
}

/**
 * Generates the data set into `dir` (created if needed). Train, eval and pool
 * texts are all distinct from one another, so eval measures generalisation.
 */
export function writeAdClaimsDataset(dir: string, options: AdClaimsOptions = {}): AdClaimsDataset {
  const seed = options.seed ?? 20240601;
  const nTrain = options.train ?? 2000;
  const nEval = options.eval ?? 500;
  const nPool = options.unlabeled ?? 10000;
  const noise = options.trainLabelNoise ?? 0.05;
  checkCount('seed', seed, 0);
  checkCount('train', nTrain, 1);
  checkCount('eval', nEval, 1);
  checkCount('unlabeled', nPool, 0);
  if (!(noise >= 0 && noise < 1)) throw new TypeError(`Expected a number in [0, 1) for trainLabelNoise but received ${noise}`);

  const gen = new AdClaimsGenerator(seed);
  const noiseRand = seededRandom(seed ^ 0x5bd1e995);
  const seen = new Set<string>();
  const draw = (n: number, what: string): AdExample[] => {
    const out: AdExample[] = [];
    let attempts = 0;
    while (out.length < n) {
      if (++attempts > n * 50 + 1000) throw new Error(`could not draw ${n} distinct ${what} texts (the templates are exhausted)`);
      const ex = gen.example();
      if (seen.has(ex.text)) continue;
      seen.add(ex.text);
      out.push(ex);
    }
    return out;
  };
  const evalRows = draw(nEval, 'eval');
  const trainRows = draw(nTrain, 'train');
  const poolRows = draw(nPool, 'unlabeled');

  let noisy = 0;
  for (const row of trainRows) {
    if (noiseRand() < noise) {
      const others = CLASSES.filter((c) => c !== row.label);
      row.label = others[Math.floor(noiseRand() * others.length)];
      noisy++;
    }
  }

  const absDir = path.resolve(dir);
  fs.mkdirSync(absDir, { recursive: true });
  const files = {
    train: path.join(absDir, 'train.tsv'),
    eval: path.join(absDir, 'eval.tsv'),
    unlabeled: path.join(absDir, 'unlabeled.txt'),
    classId: path.join(absDir, 'class_id.txt'),
    config: path.join(absDir, 'config.ini'),
  };
  const tsv = (rows: AdExample[]) => rows.map((r) => `${r.text}\t${r.label}\n`).join('');
  writeFileAtomic(files.train, tsv(trainRows));
  writeFileAtomic(files.eval, tsv(evalRows));
  writeFileAtomic(files.unlabeled, poolRows.map((r) => `${r.text}\n`).join(''));
  writeFileAtomic(files.classId, CLASSES.map((c, i) => `${c}\t${i}\n`).join(''));
  writeFileAtomic(files.config, demoConfig(options.config));
  return { dir: absDir, files, counts: { train: nTrain, eval: nEval, unlabeled: nPool, noisyTrainLabels: noisy } };
}
