/**
 * "Did you mean" hints for unknown sections and keys: the closest known name
 * by edit distance, else where the key belongs, else the list of known names.
 */
import { CONFIG_SCHEMA } from './schema';

/** Edit distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length];
}

function closest(word: string, candidates: string[]): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c);
    if (d < bestDistance) {
      bestDistance = d;
      best = c;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(word.length / 3)) ? best : null;
}

export function suggestSection(name: string): string {
  const guess = closest(name, Object.keys(CONFIG_SCHEMA));
  const known = Object.keys(CONFIG_SCHEMA).map((s) => `[${s}]`).join(', ');
  return guess ? ` (did you mean [${guess}]?)` : ` (known sections: ${known})`;
}

export function suggestKey(section: string, key: string): string {
  const guess = closest(key, Object.keys(CONFIG_SCHEMA[section]));
  if (guess) return ` (did you mean "${guess}"?)`;
  const elsewhere = Object.keys(CONFIG_SCHEMA).filter((s) => s !== section && key in CONFIG_SCHEMA[s]);
  if (elsewhere.length > 0) return ` ("${key}" belongs in ${elsewhere.map((s) => `[${s}]`).join(' or ')})`;
  return ` (known keys: ${Object.keys(CONFIG_SCHEMA[section]).join(', ')})`;
}
