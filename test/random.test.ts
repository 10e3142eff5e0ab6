/**
 * lib/util/random.ts: the one seeded generator. The demo data set, the wrong-label folds and the
 * label-noise bench depend on its exact sequence, so the first draws are pinned here: a change
 * to the generator would silently change all of them.
 */
import { strict as assert } from 'assert';
import { seededRandom } from '../lib/util/random';

describe('seededRandom (mulberry32)', function () {
  it('draws the pinned mulberry32 sequence for seed 42', function () {
    const random = seededRandom(42);
    assert.deepEqual([random(), random(), random()], [0.6011037519201636, 0.44829055899754167, 0.8524657934904099]);
  });

  it('gives the same sequence for the same seed and another for another seed', function () {
    const a = seededRandom(7);
    const b = seededRandom(7);
    const c = seededRandom(8);
    const drawsA = Array.from({ length: 100 }, () => a());
    assert.deepEqual(Array.from({ length: 100 }, () => b()), drawsA);
    assert.notDeepEqual(Array.from({ length: 100 }, () => c()), drawsA);
  });

  it('stays in [0, 1) and takes the seed as uint32', function () {
    const random = seededRandom(-1);
    const same = seededRandom(0xffffffff);
    for (let i = 0; i < 10_000; i++) {
      const x = random();
      assert.ok(x >= 0 && x < 1, `draw ${i} = ${x}`);
      assert.equal(same(), x);
    }
  });
});
