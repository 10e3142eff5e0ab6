/**
 * The one seeded pseudo-random generator of the TypeScript side: mulberry32. JavaScript's
 * Math.random cannot be seeded, and everything that draws (the demo data set, the folds of
 * wrong-label detection, the label-noise bench, test fixtures) must draw the same numbers on every
 * run and every machine. Tiny (one 32-bit state), well mixed, and plain integer arithmetic, so the
 * sequence is the same everywhere. Not for anything that needs to be unpredictable.
 *
 * test/fixtures/tiny-reviews/make-tiny-reviews.js keeps a copy: it is a plain Node script that
 * cannot import TypeScript.
 */

/** A generator of numbers in [0, 1), the same sequence for the same seed (taken as uint32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
