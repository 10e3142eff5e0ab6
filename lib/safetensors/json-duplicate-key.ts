/**
 * JSON.parse keeps the LAST of two equal keys without a word, but native/core/json.cc rejects a
 * duplicate key. A safetensors header with a tensor named twice must be an error from every
 * backend, so the TypeScript reader asks this first. It only scans the text (JSON.parse does the
 * validation), tracking nesting depth and reading the keys of the top-level object.
 */

/** The first key that appears twice in the top-level object of `json`, or undefined. */
export function duplicateTopLevelKey(json: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const c = json[i];
    if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') depth--;
    else if (c === '"') {
      const start = i;
      for (i++; i < json.length && json[i] !== '"'; i++) if (json[i] === '\\') i++;
      if (depth !== 1) continue;
      let next = i + 1;
      while (next < json.length && /\s/.test(json[next])) next++;
      if (json[next] !== ':') continue; // a value, not a key
      let key: string;
      try {
        key = JSON.parse(json.slice(start, i + 1)) as string;
      } catch {
        return undefined; // malformed: JSON.parse reports it
      }
      if (seen.has(key)) return key;
      seen.add(key);
    }
  }
  return undefined;
}
