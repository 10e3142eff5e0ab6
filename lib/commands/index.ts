/**
 * The registry of `model-distill` subcommands, in the order `--help` lists them.
 * A new command is one file under lib/commands/ exporting a CommandSpec, plus one
 * line here. Command files import heavy modules (the native addon) lazily inside
 * run(), so `--help` works even where the addon cannot load.
 */
import type { CommandSpec } from './args';
import { tokenizeCommand } from './tokenize';
import { buildVocabCommand } from './build-vocab';
import { trainCommand } from './train';
import { pretrainCommand } from './pretrain';
import { predictCommand } from './predict';
import { evalCommand } from './eval';
import { detectWrongLabelsCommand } from './detect-wrong-labels';
import { cleanLabelsCommand } from './clean-labels';
import { exportCommand } from './export';
import { quantizeCommand } from './quantize';
import { experimentCommand } from './experiment';
import { workerCommand } from './worker';
import { serveCommand } from './serve';

export const commands: CommandSpec[] = [
  tokenizeCommand,
  buildVocabCommand,
  pretrainCommand,
  trainCommand,
  predictCommand,
  evalCommand,
  detectWrongLabelsCommand,
  cleanLabelsCommand,
  exportCommand,
  quantizeCommand,
  experimentCommand,
  workerCommand,
  serveCommand,
];
