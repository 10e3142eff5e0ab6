/**
 * The config.ini text that many end-to-end tests write over a fixture folder (usually
 * tiny-reviews): [data] the fixture's files, [model] dir = runs / max_length = 32, tiny [textcnn]
 * and [gru] students, a short seeded [train]; each test appends its own sections ([teacher],
 * [distill], [labels], ...) as `extra` lines and states any other difference as an option.
 */
import { strict as assert } from 'assert';
import * as fs from 'fs';
import * as path from 'path';

import { ConfigError, parseConfig } from '../../lib/config';

export interface TinyConfigOptions {
  /** The lines under [data]; default: train, eval, unlabeled and class_id in the fixture, then vocab = vocab.txt. */
  data?: string[];
  /** [train] epochs; default 2. */
  epochs?: number;
  /** false leaves out [textcnn] dropout (default: dropout = 0.2). */
  textcnnDropout?: boolean;
  /** false leaves out the [gru] section (default: embedding_dim 16, hidden 16, dropout 0.2). */
  gru?: boolean;
  /** false leaves out [train] learning_rate (default: learning_rate = 0.01). */
  learningRate?: boolean;
}

/** The fixture's [data] lines (without the section header), as tinyConfigText writes them by default. */
export function tinyDataLines(fixture: string): string[] {
  return [
    `train = ${path.join(fixture, 'train.tsv')}`,
    `eval = ${path.join(fixture, 'eval.tsv')}`,
    `unlabeled = ${path.join(fixture, 'unlabeled.txt')}`,
    `class_id = ${path.join(fixture, 'class_id.txt')}`,
    'vocab = vocab.txt',
  ];
}

/**
 * config.ini text: [data] over `fixture`, [model] with `students`, tiny [textcnn]/[gru], [train],
 * then the `extra` lines (whole sections of the caller's, e.g. '[teacher]', 'kind = native'),
 * ending in a newline.
 */
export function tinyConfigText(fixture: string, students: string, extra: string[] = [], options: TinyConfigOptions = {}): string {
  return [
    '[data]',
    ...(options.data ?? tinyDataLines(fixture)),
    '[model]',
    'dir = runs',
    'max_length = 32',
    `students = ${students}`,
    '[textcnn]',
    'embedding_dim = 16',
    'windows = 2,3',
    'filters = 16',
    ...(options.textcnnDropout === false ? [] : ['dropout = 0.2']),
    ...(options.gru === false ? [] : ['[gru]', 'embedding_dim = 16', 'hidden = 16', 'dropout = 0.2']),
    '[train]',
    `epochs = ${options.epochs ?? 2}`,
    'batch_size = 16',
    ...(options.learningRate === false ? [] : ['learning_rate = 0.01']),
    'threads = 2',
    'seed = 7',
    ...extra,
    '',
  ].join('\n');
}

/** Writes `text` to <dir>/config.ini (creating dir) and returns the file's path. */
export function writeConfigIni(dir: string, text: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'config.ini');
  fs.writeFileSync(file, text);
  return file;
}

/** The message of the ConfigError that `text` (read as /x/config.ini, paths checked) raises; fails when it loads. */
export function configErrors(text: string): string {
  try {
    parseConfig(text, '/x/config.ini', { checkPaths: true });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail('the config should have been refused');
}
