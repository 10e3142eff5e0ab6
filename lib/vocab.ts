/**
 * Reading a BERT-style WordPiece vocabulary file (vocab.txt).
 *
 * Format: UTF-8, one token per line, the line number (from 0) is the token id.
 * A trailing "\r" on a line is stripped (files written on Windows), and the empty
 * string after the final newline is not a token. Every other line is a token,
 * even an empty one in the middle of the file, because dropping it would shift
 * every later id and silently break a model trained on that vocabulary.
 */
import * as fs from 'fs';

import { checkNonEmptyString } from './util/check-args';

/** The token every WordPiece vocabulary must contain: it stands for any word it cannot spell. */
export const UNK_TOKEN = '[UNK]';

/**
 * Reads `path` and returns its tokens; `tokens[id]` is the token of `id`.
 * Throws an Error naming the file (and the line, 1-based, where one applies) when the
 * file is missing, empty, repeats a token, or has no [UNK] token.
 */
export function readVocabFile(path: string): string[] {
  checkNonEmptyString(path, 'vocab path');
  let text: string;
  try {
    text = fs.readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`vocab file not found at ${path}`);
    if (code === 'EISDIR') throw new Error(`vocab path ${path} is a directory, expected a vocab.txt file`);
    throw new Error(`cannot read vocab file ${path}: ${(err as Error).message}`);
  }
  return parseVocab(text, path);
}

/** Parses the text of a vocab file; `source` names the file in error messages. */
export function parseVocab(text: string, source: string): string[] {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1); // a UTF-8 byte-order mark is not part of token 0
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop(); // the final newline does not start a token
  if (lines.length === 0) throw new Error(`vocab file ${source} is empty (expected one token per line)`);

  const firstLineOf = new Map<string, number>();
  for (let i = 0; i < lines.length; i++) {
    let token = lines[i];
    if (token.endsWith('\r')) token = token.slice(0, -1);
    lines[i] = token;
    const earlier = firstLineOf.get(token);
    if (earlier !== undefined) {
      throw new Error(
        `vocab file ${source} has a duplicate token ${JSON.stringify(token)} on line ${i + 1} ` +
          `(first on line ${earlier + 1}); every token must appear once because its line number is its id`,
      );
    }
    firstLineOf.set(token, i);
  }
  if (!firstLineOf.has(UNK_TOKEN)) {
    throw new Error(`vocab file ${source} has no ${UNK_TOKEN} token (${lines.length} lines read); WordPiece needs it`);
  }
  return lines;
}
