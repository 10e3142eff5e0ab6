/**
 * Moving many texts to the addon as one joined string plus UTF-16 offsets.
 *
 * Why one joined string: the addon copies it out once as UTF-16 (a memcpy) and its worker
 * threads tokenize each text's UTF-16 directly. Fetching each string separately
 * (napi_get_value_string_utf8) was measured slower on the calling thread (numbers in
 * native/addon/tokenizer_wrap.cc). V8 strings stop at about 2^29 UTF-16 units, so big batches go
 * over in slices whose results the caller stitches together.
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

/** texts[from, to) joined, with offsets[i] = start of text from+i in UTF-16 units (to - from + 1 entries). */
export function joinTexts(texts: string[], from: number, to: number): [string, Uint32Array] {
  const offsets = new Uint32Array(to - from + 1);
  let at = 0;
  for (let i = from; i < to; i++) {
    at += texts[i].length;
    offsets[i - from + 1] = at;
  }
  const joined = from === 0 && to === texts.length ? texts.join('') : texts.slice(from, to).join('');
  return [joined, offsets];
}
