// Reading the config file: YAML (.yaml/.yml) or JSON (.json), chosen by extension.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError } from './errors';

export interface ConfigFile {
  readonly path: string;
  /** Parsed content; an empty file is refused. */
  readonly content: unknown;
}

export function readConfigFile(file: string): ConfigFile {
  const absolute = path.resolve(file);
  const text = readText(absolute);
  const ext = path.extname(absolute).toLowerCase();
  let content: unknown;
  if (ext === '.json') content = text.trim() === '' ? null : parseJson(absolute, text);
  else if (ext === '.yaml' || ext === '.yml') content = parseYaml(absolute, text);
  else throw fileError(absolute, `unsupported extension "${ext}"; allowed: .yaml, .yml, .json`);
  // A file named on purpose but empty (or only comments) is a mistake, not a wish for the demo defaults.
  if (content === null || content === undefined) {
    throw fileError(absolute, 'the file is empty; give at least `sources` (see examples/ftp-ingest.yaml)');
  }
  return { path: absolute, content };
}

// Parse errors give a position, never a snippet of the file: the snippet could hold a misplaced secret.

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const message = (err as Error).message;
    const position = /at position (\d+)/.exec(message)?.[1];
    const reason = message.split(/ in JSON|, ".*" is not valid JSON/s)[0] ?? 'syntax error';
    throw fileError(file, `not valid JSON${position ? ` at ${lineCol(text, Number(position))}` : ''}: ${reason}`);
  }
}

function parseYaml(file: string, text: string): unknown {
  try {
    // `merge` enables `<<: *defaults`, handy to share settings between sources.
    return YAML.parse(text, { merge: true, prettyErrors: false }) as unknown;
  } catch (err) {
    const position = err instanceof YAML.YAMLError ? ` at ${lineCol(text, err.pos[0])}` : '';
    throw fileError(file, `not valid YAML${position}: ${(err as Error).message}`);
  }
}

function lineCol(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before[before.length - 1] ?? '').length + 1}`;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw fileError(file, `cannot read the file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

function fileError(file: string, message: string): ConfigError {
  return new ConfigError([{ path: '(file)', message }], file);
}
