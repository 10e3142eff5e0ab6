/**
 * Argument checks for the public API, in one place (as sharp's is.js): a bad argument is a
 * TypeError that names the argument, says what was expected and shows what was received, e.g.
 * "Expected boolean for addSpecialTokens but received string "yes"". With `where` (the public
 * function's name) the message is prefixed by it: "train: expected a non-empty string for ...".
 */

/** A short, readable description of a received value for error messages. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return `string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${typeof value} ${String(value)}`;
}

/** The TypeError for argument `name`: "Expected <expected> for <name> but received <value>". */
export function argumentError(expected: string, name: string, value: unknown, where?: string): TypeError {
  const message = `expected ${expected} for ${name} but received ${describe(value)}`;
  return new TypeError(where === undefined ? `E${message.slice(1)}` : `${where}: ${message}`);
}

export function checkString(value: unknown, name: string, where?: string): asserts value is string {
  if (typeof value !== 'string') throw argumentError('string', name, value, where);
}

export function checkNonEmptyString(value: unknown, name: string, where?: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) throw argumentError('a non-empty string', name, value, where);
}

/** An array whose every element is a string; a bad element is named by its index. */
export function checkStringArray(value: unknown, name: string): asserts value is string[] {
  if (!Array.isArray(value)) throw argumentError('an array of strings', name, value);
  for (let i = 0; i < value.length; i++) {
    if (typeof value[i] !== 'string') {
      throw new TypeError(`Expected an array of strings for ${name} but received ${value[i] === null ? 'null' : typeof value[i]} at index ${i}`);
    }
  }
}

/** A plain object (not null, not an array), such as an options argument. */
export function checkObject(value: unknown, name: string, where?: string): asserts value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw argumentError('an object', name, value, where);
}

/** undefined, or a function (an optional callback). */
export function checkOptionalFunction(value: unknown, name: string, where?: string): void {
  if (value !== undefined && typeof value !== 'function') throw argumentError('a function', name, value, where);
}

/** A finite number in [min, max]. */
export function checkNumberBetween(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw argumentError(`a number between ${min} and ${max}`, name, value);
  }
  return value;
}

/** options[key] as a boolean, `fallback` where it is undefined; `options` must be an object. */
export function booleanOption(options: object, key: string, fallback: boolean): boolean {
  checkObject(options, 'options');
  const value = (options as Record<string, unknown>)[key];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw argumentError('boolean', key, value);
  return value;
}
