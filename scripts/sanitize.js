'use strict';
// `npm run test:sanitize` (part of `npm test`): the C++ unit tests of native/core built with
// AddressSanitizer + UndefinedBehaviorSanitizer (clang, -O1), run by ctest, then a short smoke run
// of every fuzz harness over its seed corpus (scripts/fuzz.js --smoke). Any leak, out-of-bounds
// access or undefined behaviour fails the run. Skips with a message where clang is missing.
// `--all` also runs the slow numeric-kernel tests (minutes under ASan).
const { buildSanitized, buildDir, QUICK_TESTS, run } = require('./sanitize-build');

const all = process.argv.includes('--all');
if (buildSanitized(all) === null) process.exit(0);
const env = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
};
const only = all ? [] : ['-R', `^(${QUICK_TESTS.join('|')})$`];
const status = run('ctest', ['--test-dir', buildDir, '--output-on-failure', '--parallel', '2', ...only], { env });
if (status !== 0) process.exit(status);
process.exit(run(process.execPath, [require.resolve('./fuzz.js'), '--smoke'], { env }));
