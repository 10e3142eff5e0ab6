'use strict';
// `npm run fuzz [-- SECONDS]`: builds the libFuzzer harnesses of native/fuzz (clang, ASan + UBSan)
// and runs each for SECONDS (default 30) over a scratch copy of its seed corpus
// (native/fuzz/corpus/<name>), so new inputs never land in the repository. A crash writes the
// input as build/sanitize/crash-<harness>-* and fails. `--smoke` (used by `npm test`) runs each
// for 3 seconds without rebuilding when build/sanitize is already built by scripts/sanitize.js.
const fs = require('fs');
const os = require('os');
const path = require('path');
const { buildSanitized, buildDir, FUZZERS, run } = require('./sanitize-build');
const { root } = require('./native-paths');

const smoke = process.argv.includes('--smoke');
const secondsArg = process.argv.slice(2).find((a) => /^\d+$/.test(a));
const seconds = smoke ? 3 : Number(secondsArg ?? 30);

const built = FUZZERS.every((name) => fs.existsSync(path.join(buildDir, name)));
if (!(smoke && built) && buildSanitized() === null) process.exit(0);

for (const name of FUZZERS) {
  const seeds = path.join(root, 'native', 'fuzz', 'corpus', name.replace(/^fuzz_/, ''));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), `md-${name}-`));
  try {
    console.log(`${name}: ${seconds} s over ${path.relative(root, seeds)}`);
    const status = run(path.join(buildDir, name), [
      scratch, seeds,
      `-max_total_time=${seconds}`, '-max_len=4096', '-timeout=10', '-rss_limit_mb=2048', '-print_final_stats=1',
      `-artifact_prefix=${path.join(buildDir, `crash-${name}-`)}`,
    ], { env: { ...process.env, ASAN_OPTIONS: process.env.ASAN_OPTIONS ?? 'detect_leaks=1' } });
    if (status !== 0) {
      console.error(`${name} failed (exit ${status}); the input is saved under build/sanitize/crash-${name}-*`);
      process.exit(status);
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
