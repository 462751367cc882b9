// What a reader may do with a hostile file, measured: every typed-array, ArrayBuffer and Array
// allocation it asks for (by wrapping the global constructors the readers call), every byte it
// reads from its source, the time it takes, and what it throws. An allocation past the budget is
// refused before it happens, so a reader that trusts a declared length fails the property instead
// of exhausting memory.
import { FormatError, QuantizationError } from '../../src/errors.js';
import type { ByteSource } from '../../src/formats/io.js';

/** Thrown in place of an allocation past the budget; never a FormatError, so it cannot pass. */
export class AllocationBudgetExceeded extends Error {
  constructor(readonly requested: number, readonly budget: number, readonly what: string) {
    super(`${what} of ${requested} bytes asked for; the budget for this file is ${budget} bytes`);
    this.name = 'AllocationBudgetExceeded';
  }
}

const TYPED_ARRAYS = [
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array',
  'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
] as const;

/** Bytes a JS array slot costs at least (a pointer); an `Array(n)` is counted at this rate. */
const ARRAY_SLOT_BYTES = 8;

interface Watch {
  budget: number;
  largest: number;
  largestWhat: string;
  total: number;
  violations: AllocationBudgetExceeded[];
}

let watch: Watch | undefined;
let originals: Map<string, unknown> | undefined;

function note(bytes: number, what: string): void {
  if (!watch || !(bytes > 0)) return;
  if (bytes > watch.largest) {
    watch.largest = bytes;
    watch.largestWhat = what;
  }
  watch.total += bytes;
  if (bytes > watch.budget) {
    const refused = new AllocationBudgetExceeded(bytes, watch.budget, what);
    watch.violations.push(refused);
    throw refused;
  }
}

/** Bytes a constructor call allocates: a length, or a copy of an array-like; a view over a buffer allocates none. */
function requested(args: unknown[], elementBytes: number): number {
  const first = args[0];
  if (typeof first === 'number') return first * elementBytes;
  if (typeof first === 'bigint') return Number(first) * elementBytes;
  if (first instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && first instanceof SharedArrayBuffer)) return 0;
  if (first !== null && typeof first === 'object' && 'length' in first) return Number((first as { length: unknown }).length) * elementBytes;
  return 0;
}

/**
 * Wraps the global allocation constructors (idempotent). While a {@link measure} runs, each
 * allocation is counted and one past the budget is refused; outside it they behave as before.
 */
export function installAllocationGuard(): void {
  if (originals) return;
  originals = new Map();
  const g = globalThis as unknown as Record<string, unknown>;
  const wrap = (name: string, elementBytes: (args: unknown[]) => number) => {
    const target = g[name] as new (...args: unknown[]) => object;
    (originals as Map<string, unknown>).set(name, target);
    g[name] = new Proxy(target, {
      construct(t, args, newTarget) {
        note(elementBytes(args), `new ${name}`);
        return Reflect.construct(t, args, newTarget === g[name] ? t : newTarget);
      },
      apply(t, self, args) {
        note(elementBytes(args), `${name}()`);
        return Reflect.apply(t, self, args);
      },
    });
  };
  for (const name of TYPED_ARRAYS) {
    const bytes = (g[name] as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    wrap(name, (args) => requested(args, bytes));
  }
  wrap('ArrayBuffer', (args) => (typeof args[0] === 'number' ? args[0] : 0));
  // `new Array(a, b)` lists elements; only a single numeric argument is a length.
  wrap('Array', (args) => (args.length === 1 && typeof args[0] === 'number' ? args[0] * ARRAY_SLOT_BYTES : 0));
}

/** Puts the original constructors back. */
export function uninstallAllocationGuard(): void {
  if (!originals) return;
  const g = globalThis as unknown as Record<string, unknown>;
  for (const [name, original] of originals) g[name] = original;
  originals = undefined;
}

/** A source over `head` followed by `tail`, without joining them; it counts what is read. */
export function countingSource(name: string, head: Uint8Array, tail: Uint8Array = new Uint8Array(0)): ByteSource & { bytesRead: number; reads: number } {
  const size = head.byteLength + tail.byteLength;
  const source = {
    name,
    size,
    bytesRead: 0,
    reads: 0,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new FormatError(`wants bytes ${offset}..${offset + length} but the file has ${size} bytes (truncated?)`, { file: name });
      }
      source.bytesRead += length;
      source.reads++;
      const h = head.byteLength;
      if (offset + length <= h) return head.subarray(offset, offset + length);
      if (offset >= h) return tail.subarray(offset - h, offset - h + length);
      // The join is the harness's, not the reader's: it is not counted.
      const paused = watch;
      watch = undefined;
      const out = new Uint8Array(length);
      watch = paused;
      out.set(head.subarray(offset));
      out.set(tail.subarray(0, offset + length - h), h - offset);
      return out;
    },
  };
  return source;
}

/** The limits every reader is held to, for a file of `size` bytes. */
export interface Limits {
  /** The largest single allocation: `allocFactor` × size + `allocFixed`. */
  allocFactor: number;
  allocFixed: number;
  /** Bytes read from the source in all: `readFactor` × size + `allocFixed`. */
  readFactor: number;
  /** Wall-clock bound for one input, in ms. */
  timeMs: number;
}

export const DEFAULT_LIMITS: Limits = { allocFactor: 8, allocFixed: 1 << 20, readFactor: 2, timeMs: 5_000 };

export interface Verdict {
  /** The input broke a rule: what went wrong, else undefined. */
  problem: string | undefined;
  /** Accepted, or rejected with a FormatError/QuantizationError (its message). */
  outcome: 'accepted' | 'rejected';
  message: string | undefined;
  largestAllocation: number;
  /** The call that asked for it (`new Uint8Array`, …). */
  largestWhat: string;
  bytesRead: number;
  ms: number;
}

const timeout = (ms: number) => new Promise<never>((_, reject) => {
  const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms (a hang?)`)), ms);
  timer.unref?.();
});

/** A message's place: a field or tensor, or for text that is not JSON (or not UTF-8) where in it. */
export const PLACE = /(field|tensor) '|at line \d+, column \d+|at byte \d+/;

/**
 * Runs `work` on `source` under the guard and checks the rules: it resolves, or rejects with a
 * FormatError (or QuantizationError) whose message starts with the file's name (or one of
 * `companions`, the files beside it that the reader also opens) and names its place (a field or
 * tensor; in text, a position); within the time bound; with no allocation past the budget and
 * reads within bounds.
 */
export async function measure(
  source: ByteSource & { bytesRead: number }, work: (source: ByteSource) => Promise<unknown>, limits: Limits = DEFAULT_LIMITS,
  companions: string[] = [],
): Promise<Verdict> {
  installAllocationGuard();
  const budget = limits.allocFactor * source.size + limits.allocFixed;
  const w: Watch = { budget, largest: 0, largestWhat: '', total: 0, violations: [] };
  const started = performance.now();
  let outcome: Verdict['outcome'] = 'accepted';
  let message: string | undefined;
  let problem: string | undefined;
  watch = w;
  try {
    await Promise.race([work(source), timeout(limits.timeMs)]);
  } catch (err) {
    outcome = 'rejected';
    message = err instanceof Error ? err.message : String(err);
    if (err instanceof FormatError) {
      if (![source.name, ...companions].some((name) => err.message.startsWith(`${name}: `))) {
        problem = `FormatError does not start with the file's name: ${err.message}`;
      } else if (!PLACE.test(err.message)) problem = `FormatError names neither a field, a tensor nor a position: ${err.message}`;
    } else if (!(err instanceof QuantizationError)) {
      problem = `threw ${err instanceof Error ? err.name : typeof err}, not a FormatError: ${message}`;
    }
  } finally {
    watch = undefined;
  }
  const ms = performance.now() - started;
  if (w.violations.length > 0) problem = (w.violations[0] as AllocationBudgetExceeded).message;
  else if (problem !== undefined) return { problem, outcome, message, largestAllocation: w.largest, largestWhat: w.largestWhat, bytesRead: source.bytesRead, ms };
  else if (ms > limits.timeMs) problem = `took ${ms.toFixed(0)} ms, past the bound of ${limits.timeMs} ms`;
  else if (source.bytesRead > limits.readFactor * source.size + limits.allocFixed) {
    problem = `read ${source.bytesRead} bytes of a ${source.size}-byte file`;
  }
  return { problem, outcome, message, largestAllocation: w.largest, largestWhat: w.largestWhat, bytesRead: source.bytesRead, ms };
}
