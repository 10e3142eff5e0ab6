/**
 * Model folders for the ONNX export and WASM backend tests: tiny TextCNN / GRU students with
 * their seeded initial (random) weights, saved with saveModelFolder over the tiny-task vocab.
 * Random weights are a harder test of the masking than trained ones: nothing makes the windows
 * past a text's end small, so an unmasked one would often win the max.
 */
import * as path from 'path';

import { saveModelFolder } from '../../lib/model-folder';
import { NativeStudent, StudentSpec } from '../../lib/student';
import { TINY_LABELS, TINY_VOCAB } from './tiny-task';

export const ONNX_TEST_MAX_LENGTH = 16;

export const ONNX_TEST_SPECS: Record<string, StudentSpec> = {
  // largest window 5 > the shortest texts ([CLS] [SEP] = 2 tokens)
  textcnn: { kind: 'textcnn', vocabSize: TINY_VOCAB.length, numClasses: 3, embeddingDim: 8, windows: [2, 3, 5], filters: 6, dropout: 0, seed: 11 },
  gru: { kind: 'gru', vocabSize: TINY_VOCAB.length, numClasses: 3, embeddingDim: 8, hidden: 7, bidirectional: false, dropout: 0, seed: 12 },
  bigru: { kind: 'gru', vocabSize: TINY_VOCAB.length, numClasses: 3, embeddingDim: 8, hidden: 7, bidirectional: true, dropout: 0, seed: 13 },
};

/** Saves one folder per spec under `root` (plus 'textcnn-nospecials': no [CLS]/[SEP]); returns name -> dir. */
export function makeOnnxTestModels(root: string): Record<string, string> {
  const dirs: Record<string, string> = {};
  const save = (name: string, spec: StudentSpec, addSpecialTokens: boolean) => {
    const student = NativeStudent.create(spec);
    try {
      dirs[name] = saveModelFolder(path.join(root, name), {
        student,
        vocabTokens: TINY_VOCAB,
        labels: TINY_LABELS,
        maxLength: ONNX_TEST_MAX_LENGTH,
        lowercase: true,
        addSpecialTokens,
      });
    } finally {
      student.dispose();
    }
  };
  for (const [name, spec] of Object.entries(ONNX_TEST_SPECS)) save(name, spec, true);
  save('textcnn-nospecials', { ...ONNX_TEST_SPECS.textcnn, seed: 14 }, false);
  return dirs;
}

/** Texts with every edge the backends must agree on. */
export function edgeTexts(): string[] {
  const long = Array.from({ length: 40 }, (_, i) => ['good', 'the', 'awful', 'movie', 'plot'][i % 5]).join(' ');
  return [
    '', // empty: [CLS] [SEP], or one [UNK] without specials
    'good', // shorter than the largest window
    'bad movie',
    'the plot was very good and the acting was awful really',
    long, // truncated to maxLength
    'xyz 好 great', // unknown word and character -> [UNK]
    'GOOD Films', // lower-cased; "films" -> film ##s
    '   ',
  ];
}
