'use strict';
// `npm run demo`: the main job on embedded data, until the distillation demo
// replaces it. Builds a vocabulary from the committed sample reviews
// (examples/reviews-zh.txt) into demo-run/, then tokenises standard input with
// it (or, when stdin is a terminal, three sample sentences), printing tokens.
//   echo "这款耳机音质很好" | npm run demo
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'lib', 'cli.js');
// The compiled bin is what users run; fall back to the sources in a fresh edit.
const cli = fs.existsSync(compiled) ? [compiled] : ['--require', 'tsx/cjs', path.join(root, 'lib', 'cli.ts')];
const outDir = path.join(root, 'demo-run');
const vocab = path.join(outDir, 'vocab.txt');
const sample = path.join(root, 'examples', 'reviews-zh.txt');

function modelDistill(args, input) {
  const r = spawnSync(process.execPath, [...cli, ...args], { cwd: root, input, stdio: [input === undefined ? 'inherit' : 'pipe', 'inherit', 'inherit'] });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

fs.mkdirSync(outDir, { recursive: true });
console.log(`$ model-distill build-vocab --input ${path.relative(root, sample)} --output ${path.relative(root, vocab)}`);
modelDistill(['build-vocab', '--input', sample, '--output', vocab]);
const fromTerminal = process.stdin.isTTY;
const input = fromTerminal ? '这款耳机音质很好，续航也不错。\n物流太慢了，等了一个星期。\nWiFi信号很强，iPhone连接稳定。\n' : undefined;
console.log(`$ ${fromTerminal ? 'printf <3 sentences> | ' : ''}model-distill tokenize --vocab ${path.relative(root, vocab)} --tokens`);
modelDistill(['tokenize', '--vocab', vocab, '--tokens'], input);
