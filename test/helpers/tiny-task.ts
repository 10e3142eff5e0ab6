/**
 * A tiny synthetic sentiment task for the student/classifier tests: texts of filler words with
 * one cue word that decides the class ("good"/"great" -> pos, "bad"/"awful" -> neg,
 * "ok"/"fine" -> mixed). Seeded, so every run builds the same data.
 */
import { Tokenizer } from '../../lib/tokenizer';

export const TINY_LABELS = ['neg', 'pos', 'mixed'];
export const TINY_VOCAB = [
  '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]',
  'the', 'movie', 'was', 'very', 'film', 'plot', 'acting', 'and', 'a', 'it', 'is', 'really', 'story',
  'good', 'great', 'bad', 'awful', 'ok', 'fine', '##s', 'quite',
];
const FILLER = ['the', 'movie', 'was', 'very', 'film', 'plot', 'acting', 'and', 'a', 'it', 'is', 'really', 'story', 'quite'];
const CUES = [['bad', 'awful'], ['good', 'great'], ['ok', 'fine']];

/** Deterministic pseudo-random numbers in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function tinyTexts(n: number, seed: number): { texts: string[]; labels: Int32Array } {
  const r = rng(seed);
  const texts: string[] = [];
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const label = i % 3;
    const words: string[] = [];
    const len = 3 + Math.floor(r() * 9);
    for (let w = 0; w < len; w++) words.push(FILLER[Math.floor(r() * FILLER.length)]);
    const cue = CUES[label][Math.floor(r() * 2)];
    words.splice(Math.floor(r() * (len + 1)), 0, cue);
    texts.push(words.join(' '));
    labels[i] = label;
  }
  return { texts, labels };
}

export function tinyTokenizer(): Tokenizer {
  return Tokenizer.fromTokens(TINY_VOCAB.slice(), { lowercase: true });
}

export const TINY_MAX_LENGTH = 16;
