/**
 * A fresh clone must install and test with exactly the README's commands, offline, with no
 * environment variable set. Before this was fixed, onnxruntime-node's install script tried to
 * download CUDA files (getaddrinfo ENOTFOUND) and .ci/run hid it with ONNXRUNTIME_NODE_INSTALL=skip,
 * a variable the README never mentions. These tests pin the fix in place:
 *  - package.json's allowScripts denies that install script;
 *  - .ci/run sets and exports no variable for the npm commands;
 *  - .ci/run runs the README's test command, character for character.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const ciScript = readFileSync(join(root, '.ci', 'run'), 'utf8');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  allowScripts?: Record<string, boolean>;
  devDependencies?: Record<string, string>;
};

/** The shell lines of .ci/run that do something (no comments, no blank lines). */
function commandLines(script: string): string[] {
  return script
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}

/** The first fenced code block after the heading `## Tests` in README.md. */
function readmeTestCommand(text: string): string {
  const section = text.split(/^## /m).find((part) => part.startsWith('Tests\n'));
  assert.ok(section, 'README.md has no "## Tests" section');
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the "## Tests" section of README.md has no code block');
  return block[1].trim();
}

describe('offline install with the README commands', () => {
  it("package.json denies onnxruntime-node's install script (it downloads CUDA files)", () => {
    assert.ok(manifest.devDependencies?.['onnxruntime-node'], 'onnxruntime-node is no longer a dev dependency; update this test');
    assert.equal(manifest.allowScripts?.['onnxruntime-node'], false);
  });

  it('.ci/run sets no environment variable for npm (no export, no ONNXRUNTIME_*)', () => {
    const lines = commandLines(ciScript);
    assert.deepEqual(lines.filter((line) => /^export\b/.test(line)), []);
    assert.doesNotMatch(ciScript, /ONNXRUNTIME/);
    // A VAR=value prefix on an npm command, or a bare assignment that a later npm would inherit
    // through `set -a`, would be a setting the README does not give.
    assert.deepEqual(lines.filter((line) => /\b[A-Z_][A-Z0-9_]*=\S*\s+npm\b/.test(line)), []);
    assert.deepEqual(lines.filter((line) => /^set\s+-[a-z]*a/.test(line)), []);
  });

  it("the last command of .ci/run is README.md's test command, as written", () => {
    const lines = commandLines(ciScript);
    assert.equal(lines[lines.length - 1], readmeTestCommand(readme));
    assert.equal(readmeTestCommand(readme), 'npm ci && npm test');
  });
});
