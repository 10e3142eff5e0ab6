'use strict';
/**
 * Runs inside a worker_thread for test/worker-terminate.test.ts: repeats ONE kind of addon call
 * forever, so that a terminate() from the parent lands at a random moment of it (in the middle of
 * the native code, between calls, or with async work still queued on libuv's pool).
 *
 * Plain JavaScript over the raw addon (the same calls lib/classifier.ts and lib/tokenizer.ts make,
 * already checked by them): a worker then starts in milliseconds instead of compiling the
 * TypeScript of lib/ again, so hundreds of terminations take seconds.
 *
 * workerData: { kind, addonPath, spec, weightsPath, tokens, maxLength }. Posts 'running' once the
 * first call has started.
 */
const { parentPort, workerData } = require('node:worker_threads');

const { kind, addonPath, spec, weightsPath, tokens, maxLength } = workerData;
const addon = require(addonPath);

// Enough text that each call spends most of its time in native code.
const WORDS = ['the', 'movie', 'was', 'very', 'good', 'bad', 'plot', 'acting', 'ok', 'fine'];
const texts = Array.from({ length: 400 }, (_, i) => Array.from({ length: 12 }, (_, w) => WORDS[(i * 7 + w * 3) % WORDS.length]).join(' '));
const joined = texts.join(' ');
const offsets = new Uint32Array(texts.length + 1);
texts.forEach((text, i) => (offsets[i + 1] = offsets[i] + text.length + (i + 1 < texts.length ? 1 : 0)));
// The tokenizer's encodeBatch reads the array itself: each text's offset when laid end to end.
const textOffsets = new Uint32Array(texts.length + 1);
texts.forEach((text, i) => (textOffsets[i + 1] = textOffsets[i] + text.length));

function load() {
  const student = new addon.NativeStudent(spec);
  student.loadWeights(weightsPath);
  return { student, classifier: new addon.NativeClassifier(tokens, true, student, maxLength, true) };
}

let announced = false;
function started() {
  if (!announced) parentPort.postMessage('running');
  announced = true;
}

async function run() {
  if (kind === 'load') {
    for (;;) {
      started();
      const { student, classifier } = load();
      classifier.close();
      student.dispose();
      await null; // let the parent's terminate() in between loads too
    }
  }
  if (kind === 'encode' || kind === 'encodeBatch' || kind === 'encodeBatchAsync') {
    const tokenizer = new addon.WordPieceTokenizer(tokens, true);
    for (;;) {
      started();
      if (kind === 'encode') {
        tokenizer.encode(joined, true);
        await null;
      } else if (kind === 'encodeBatch') {
        // The copy out of JS runs while the pool's threads tokenize: a terminate lands in either.
        tokenizer.encodeBatch(texts, 0, textOffsets, maxLength, true);
        await null;
      } else {
        await tokenizer.encodeBatchAsync(texts, 0, textOffsets, maxLength, true);
      }
    }
  }
  const { classifier } = load();
  for (;;) {
    started();
    if (kind === 'predict') {
      await classifier.predictAsync(joined, offsets, 1);
    } else {
      classifier.predict(joined, offsets, 1);
      await null;
    }
  }
}

run().catch((err) => {
  throw err;
});
