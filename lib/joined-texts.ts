/**
 * Moving many texts to the addon: their UTF-16 offsets when laid end to end, and (for the
 * classifier, and the tokenizer benchmark's former path) one joined string.
 *
 * The tokenizer's encodeBatch passes the array itself with the offsets: the addon copies each
 * string into its place in one UTF-16 buffer (napi_get_value_string_utf16), which is cheaper than
 * a JS join followed by one copy of the joined string (docs/benchmarks-tokenizer.md). The
 * classifier still takes a joined string. V8 strings stop at about 2^29 UTF-16 units, and the
 * offsets are 32-bit, so big batches go over in slices whose results the caller stitches together.
 */

/** Default slice size in UTF-16 units, well under V8's maximum string length. */
export const DEFAULT_MAX_JOINED_UNITS = 1 << 26;

/** [from, to) ranges of texts whose joined length stays under maxUnits (one long text may exceed it alone). */
export function sliceTexts(texts: string[], maxUnits: number = DEFAULT_MAX_JOINED_UNITS): [number, number][] {
  const slices: [number, number][] = [];
  let from = 0;
  let units = 0;
  for (let i = 0; i < texts.length; i++) {
    if (units + texts[i].length > maxUnits && i > from) {
      slices.push([from, i]);
      from = i;
      units = 0;
    }
    units += texts[i].length;
  }
  slices.push([from, texts.length]);
  return slices;
}

/** offsets[i] = start of text from+i in UTF-16 units when texts[from, to) are laid end to end (to - from + 1 entries). */
export function textOffsets(texts: string[], from: number, to: number): Uint32Array {
  const offsets = new Uint32Array(to - from + 1);
  let at = 0;
  for (let i = from; i < to; i++) {
    at += texts[i].length;
    offsets[i - from + 1] = at;
  }
  return offsets;
}

/** texts[from, to) joined, with offsets[i] = start of text from+i in UTF-16 units (to - from + 1 entries). */
export function joinTexts(texts: string[], from: number, to: number): [string, Uint32Array] {
  const offsets = textOffsets(texts, from, to);
  const joined = from === 0 && to === texts.length ? texts.join('') : texts.slice(from, to).join('');
  return [joined, offsets];
}
