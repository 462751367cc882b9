// `npm run fuzz -- [--seed N] [--count N] [--reader NAME]`: long fuzzing runs of the format readers
// (the same properties as test/fuzz/readers.test.ts, with more inputs). A failing input, shrunk by
// fast-check, is saved to test/fuzz-corpus/<reader>/ so that the normal test run replays it; the
// run then goes on with the next reader. Prints, per reader: inputs, time, outcomes, the largest
// allocation seen and the slowest input. Exit status 1 when any property failed.
import { register } from 'node:module';
import { parseArgs } from 'node:util';
import fc from 'fast-check';

// The library imports its WGSL kernels as `…wgsl?raw` text, Vite's convention, and its SIMD
// module as `….wat`, assembled by vite.config.ts's plugin (the build and vitest follow both);
// under tsx these hooks load them, before the readers are imported.
const HOOKS = `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { assembleWat } from ${JSON.stringify(new URL('../../scripts/wat.ts', import.meta.url).href)};
const RAW = /\\.wgsl\\?raw$/;
const WAT = /\\.wat$/;
export async function resolve(specifier, context, next) {
  if (RAW.test(specifier) || WAT.test(specifier)) return { url: new URL(specifier, context.parentURL).href, shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (WAT.test(url)) {
    return { format: 'module', source: 'export default ' + JSON.stringify(await assembleWat(fileURLToPath(url))), shortCircuit: true };
  }
  if (!RAW.test(url)) return next(url, context);
  const text = readFileSync(new URL(url.replace(/\\?raw$/, '')), 'utf8');
  return { format: 'module', source: 'export default ' + JSON.stringify(text), shortCircuit: true };
}
`;
register(`data:text/javascript,${encodeURIComponent(HOOKS)}`);
const { check, saveCase } = await import('./corpus.js');
const { inputsFor, READERS, tailOf } = await import('./inputs.js');

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    count: { type: 'string', default: '100000' },
    reader: { type: 'string', multiple: true },
  },
});
const seed = Number(values.seed);
const count = Number(values.count);
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(count) || count < 1) {
  console.error(`usage: npm run fuzz -- [--seed N] [--count N] [--reader ${READERS.map((r) => r.name).join('|')}]...`);
  process.exit(2);
}
const readers = READERS.filter((r) => !values.reader || values.reader.includes(r.name));
if (readers.length === 0) {
  console.error(`no such reader; readers: ${READERS.map((r) => r.name).join(', ')}`);
  process.exit(2);
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(2)} MiB`;
let failed = false;
for (const reader of readers) {
  const stats = { inputs: 0, accepted: 0, largest: 0, largestWhat: '', largestSize: 0, slowest: 0 };
  const started = performance.now();
  let lastReport = started;
  const details = await fc.check(
    fc.asyncProperty(inputsFor(reader), async (input) => {
      const v = await check(reader, input);
      stats.inputs++;
      if (v.outcome === 'accepted') stats.accepted++;
      if (v.largestAllocation > stats.largest) {
        stats.largest = v.largestAllocation;
        stats.largestWhat = v.largestWhat;
        stats.largestSize = input.head.byteLength + tailOf(input).byteLength;
      }
      stats.slowest = Math.max(stats.slowest, v.ms);
      if (performance.now() - lastReport > 30_000) {
        lastReport = performance.now();
        console.error(`${reader.name}: ${stats.inputs} inputs, ${((lastReport - started) / 1000).toFixed(0)} s`);
      }
      if (v.problem) throw new Error(v.problem);
    }),
    { seed, numRuns: count },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${reader.name}: ${details.numRuns} inputs (seed ${seed}) in ${seconds.toFixed(1)} s; ${stats.accepted} accepted, ` +
    `${stats.inputs - stats.accepted} rejected; largest allocation ${mib(stats.largest)} (${stats.largestWhat}, a ${mib(stats.largestSize)} file); slowest input ${stats.slowest.toFixed(0)} ms`,
  );
  if (details.failed) {
    failed = true;
    const input = details.counterexample?.[0];
    const problem = details.errorInstance instanceof Error ? details.errorInstance.message : 'the run was cut short (too many skips, or interrupted)';
    console.log(`${reader.name}: FAILED after ${details.numRuns} inputs (shrunk ${details.numShrinks} times): ${problem}`);
    if (input) console.log(`${reader.name}: saved ${saveCase(reader, input, `npm run fuzz --seed ${seed}: ${problem}`)}`);
  }
}
process.exitCode = failed ? 1 : 0;
