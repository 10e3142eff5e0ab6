import { strict as assert } from 'assert';

import { Progress, formatCount, formatDuration } from '../lib/progress';

/** A stream that records what is written, and a clock the test moves by hand. */
function harness(tty: boolean) {
  const writes: string[] = [];
  const stream = { write: (s: string) => writes.push(s), isTTY: tty, columns: 200 };
  let ms = 1_000_000;
  return {
    writes,
    stream,
    now: () => ms,
    advance(seconds: number) {
      ms += seconds * 1000;
    },
  };
}

describe('progress reporter', () => {
  it('formats counts and durations the same everywhere', () => {
    assert.equal(formatCount(1234567), '1,234,567');
    assert.equal(formatCount(999), '999');
    assert.equal(formatDuration(3725), '1:02:05');
    assert.equal(formatDuration(Infinity), '?');
  });

  it('off a terminal, writes plain lines at each 10% step, with rate and ETA', () => {
    const h = harness(false);
    const p = new Progress({ label: 'epoch 1/3', total: 1000, stream: h.stream, now: h.now });
    for (let i = 0; i < 100; i++) {
      h.advance(0.01); // 10 items per 0.01 s = 1,000 examples/s
      p.tick(10);
    }
    p.finish('loss 0.25');
    assert.equal(h.writes.length, 10, h.writes.join(''));
    assert.equal(h.writes[0], 'epoch 1/3: 100/1,000 (10.0%) 1,000 examples/s ETA 0:00:01\n');
    assert.equal(h.writes[4], 'epoch 1/3: 500/1,000 (50.0%) 1,000 examples/s ETA 0:00:01\n');
    assert.equal(h.writes[8], 'epoch 1/3: 900/1,000 (90.0%) 1,000 examples/s ETA 0:00:00\n');
    assert.equal(h.writes[9], 'epoch 1/3: 1,000/1,000 examples in 0:00:01 (1,000 examples/s)  loss 0.25\n');
    assert.ok(h.writes.every((w) => !w.includes('\r')), 'no carriage returns in a log');
  });

  it('off a terminal, also writes a line every 10 s when progress is slow', () => {
    const h = harness(false);
    const p = new Progress({ label: 'scoring pool', total: 1_000_000, unit: 'texts', stream: h.stream, now: h.now });
    for (let s = 0; s < 35; s++) {
      h.advance(1);
      p.tick(100);
    }
    assert.equal(h.writes.length, 3, h.writes.join(''));
    assert.equal(h.writes[0], 'scoring pool: 1,000/1,000,000 (0.1%) 100 texts/s ETA 2:46:30\n');
  });

  it('shows done and rate only when the total is unknown', () => {
    const h = harness(false);
    const p = new Progress({ label: 'reading', total: 0, unit: 'lines', stream: h.stream, now: h.now });
    h.advance(10);
    p.update(5000);
    p.finish();
    assert.deepEqual(h.writes, ['reading: 5,000 lines 500 lines/s\n', 'reading: 5,000 lines in 0:00:10 (500 lines/s)\n']);
  });

  it('on a terminal, redraws one bar in place and ends it with a newline', () => {
    const h = harness(true);
    const p = new Progress({ label: 'train', total: 200, stream: h.stream, now: h.now });
    h.advance(1);
    p.update(50);
    p.update(60); // within 100 ms of the last draw: not redrawn
    h.advance(1);
    p.update(100, 'loss 0.5');
    p.finish();
    assert.equal(h.writes.length, 3, JSON.stringify(h.writes));
    assert.equal(h.writes[0], '\rtrain [#####...............]  50/200  25.0%  50.0 examples/s  ETA 0:00:03');
    assert.ok(h.writes[1].startsWith('\rtrain [##########..........]  100/200  50.0%  50.0 examples/s  ETA 0:00:02  loss 0.5'));
    assert.ok(h.writes[2].startsWith('\rtrain: 100/200 examples in 0:00:02'));
    assert.ok(h.writes[2].endsWith('\n'));
    assert.ok(!h.writes.slice(0, 2).some((w) => w.includes('\n')), 'the bar itself never scrolls');
  });

  it('checks its arguments', () => {
    assert.throws(() => new Progress({ label: 'x', total: -1 }), /Expected non-negative number for total but received -1/);
  });
});
