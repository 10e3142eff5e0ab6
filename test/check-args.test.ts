/**
 * lib/util/check-args.ts: the argument checks the public API shares. Each bad value gives a
 * TypeError naming the argument and showing what was received; `where` prefixes the function.
 */
import { strict as assert } from 'assert';
import {
  argumentError,
  booleanOption,
  checkNonEmptyString,
  checkNumberBetween,
  checkObject,
  checkOptionalFunction,
  checkString,
  checkStringArray,
  describe as describeValue,
} from '../lib/util/check-args';

describe('check-args', function () {
  it('describes received values briefly', function () {
    assert.equal(describeValue('x'.repeat(50)), `string "${'x'.repeat(40)}…"`);
    assert.equal(describeValue(null), 'null');
    assert.equal(describeValue(undefined), 'undefined');
    assert.equal(describeValue([1]), 'an array');
    assert.equal(describeValue(new Int32Array(2)), 'Int32Array');
    assert.equal(describeValue({}), 'an object');
    assert.equal(describeValue(() => 1), 'a function');
    assert.equal(describeValue(1.5), 'number 1.5');
  });

  it('names the argument, and the function when given', function () {
    assert.equal(argumentError('boolean', 'flag', 'yes').message, 'Expected boolean for flag but received string "yes"');
    assert.equal(argumentError('boolean', 'flag', 3, 'train').message, 'train: expected boolean for flag but received number 3');
    assert.throws(() => checkString(5, 'text'), /^TypeError: Expected string for text but received number 5$/);
    assert.throws(() => checkNonEmptyString('', 'configPath', 'train'), /^TypeError: train: expected a non-empty string for configPath but received string ""$/);
    assert.throws(() => checkStringArray(['a', 2], 'texts'), /^TypeError: Expected an array of strings for texts but received number at index 1$/);
    assert.throws(() => checkObject([], 'options'), /^TypeError: Expected an object for options but received an array$/);
    assert.throws(() => checkOptionalFunction('no', 'options.log'), /Expected a function for options.log but received string "no"/);
    assert.throws(() => checkNumberBetween(1.5, 'minConfidence', 0, 1), /Expected a number between 0 and 1 for minConfidence but received number 1.5/);
    assert.throws(() => checkNumberBetween(Number.NaN, 'minConfidence', 0, 1), /received number NaN/);
  });

  it('accepts good values', function () {
    checkString('', 'text');
    checkNonEmptyString('a', 'configPath');
    checkStringArray([], 'texts');
    checkObject({}, 'options');
    checkOptionalFunction(undefined, 'options.log');
    assert.equal(checkNumberBetween(0, 'p', 0, 1), 0);
    assert.equal(checkNumberBetween(1, 'p', 0, 1), 1);
  });

  it('reads a boolean option with its default', function () {
    assert.equal(booleanOption({}, 'addSpecialTokens', true), true);
    assert.equal(booleanOption({ addSpecialTokens: false }, 'addSpecialTokens', true), false);
    assert.throws(() => booleanOption({ addSpecialTokens: 1 }, 'addSpecialTokens', true), /Expected boolean for addSpecialTokens but received number 1/);
    assert.throws(() => booleanOption(null as unknown as object, 'addSpecialTokens', true), /Expected an object for options but received null/);
  });
});
