// Inputs kept as regression cases: each a JSON file in test/fuzz-corpus/<reader>/ holding the
// input's head (base64) and, for a mutated real file, which bundled model its tail comes from.
// The normal test run replays every one.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { countingSource, type Limits, measure, type Verdict } from './guard.js';
import { type FuzzInput, type ReaderSpec, ROOT, tailOf } from './inputs.js';

export const CORPUS = join(ROOT, 'test/fuzz-corpus');

export interface CorpusEntry {
  /** What the input exercises, or the problem it once caused. */
  note: string;
  input: FuzzInput;
}

/** Saves `input` under the reader's folder, named by its content; returns the path. */
export function saveCase(reader: ReaderSpec, input: FuzzInput, note: string): string {
  const dir = join(CORPUS, reader.name);
  mkdirSync(dir, { recursive: true });
  const head = Buffer.from(input.head.buffer, input.head.byteOffset, input.head.byteLength).toString('base64');
  const json = { note, ...(input.base ? { base: input.base } : {}), head };
  const hash = createHash('sha256').update(JSON.stringify({ base: input.base, head })).digest('hex').slice(0, 16);
  const path = join(dir, `${hash}.json`);
  writeFileSync(path, `${JSON.stringify(json, null, 2)}\n`);
  return path;
}

/** Every saved case of a reader. */
export function loadCases(reader: ReaderSpec): (CorpusEntry & { path: string })[] {
  const dir = join(CORPUS, reader.name);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json')).sort();
  } catch {
    return [];
  }
  return names.map((n) => {
    const path = join(dir, n);
    const json = JSON.parse(readFileSync(path, 'utf8')) as { note: string; base?: { file: string; from: number }; head: string };
    const head = new Uint8Array(Buffer.from(json.head, 'base64'));
    return { path, note: json.note, input: { head, ...(json.base ? { base: json.base } : {}) } };
  });
}

/** The whole input as one buffer (for the command line, which reads a file). */
export function joined(input: FuzzInput): Uint8Array {
  const tail = tailOf(input);
  const out = new Uint8Array(input.head.byteLength + tail.byteLength);
  out.set(input.head);
  out.set(tail, input.head.byteLength);
  return out;
}

/** Runs one input through a reader under the guard (the files beside it made first, outside it). */
export async function check(reader: ReaderSpec, input: FuzzInput, limits?: Limits): Promise<Verdict> {
  await reader.companions?.files();
  const source = countingSource(`hostile${reader.extension}`, input.head, tailOf(input));
  return measure(source, (s) => reader.read(s), limits, reader.companions?.names);
}
