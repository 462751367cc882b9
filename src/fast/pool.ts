// The fast CPU engine's workers: worker_threads in Node, Web Workers in browsers, made from the
// kernels' own source text (no file to locate or bundle). One pool lives across calls, so the
// tensors of a model reuse it; a worker that fails, or an abort, ends the whole pool, and the next
// call starts a fresh one.
import { QuantizationError } from '../errors.js';
import { type CodeRule, fastKernels, type KernelLayout, type Kernels, type PieceParams } from './kernels.js';
import simdModule from './simd.wat';

/** A job for a worker: an operation of {@link serve} and its arguments. */
export interface Job {
  op: 'scan' | 'codes';
  [key: string]: unknown;
}

/** A 'codes' job's arguments (a 'scan' job has the first four). */
interface CodesJob {
  L: KernelLayout;
  x: Float32Array;
  start: number;
  simd: boolean;
  rule: CodeRule;
  qmin: number;
  qmax: number;
  params: PieceParams;
  bits: 4 | 8;
  signed: boolean;
  M?: KernelLayout;
  /** A buffer of an earlier answer, handed back for this one's codes. */
  out?: ArrayBuffer;
}

type Reply = { id: number; ok: true; result: Record<string, unknown> } | { id: number; ok: false; message: string };

/**
 * The worker's side: runs each job with the kernels and answers with its results, their buffers
 * transferred. A job that fails answers with its message; an operation the worker does not know
 * is a fault of the caller and is thrown, which ends the worker.
 */
export function serve(
  K: Kernels, on: (handler: (m: Job & { id: number }) => void) => void,
  send: (reply: Reply, transfer: ArrayBuffer[]) => void,
): void {
  // The reconstruction of a piece whose errors are measured, kept for the next piece.
  let scratch = new Float32Array(0);
  on((m) => {
    if (m.op !== 'scan' && m.op !== 'codes') throw new Error(`unknown operation ${String(m.op)}`);
    try {
      const result = runJob(K, m);
      const transfer = [...new Set(Object.values(result)
        .filter((v): v is ArrayBufferView => ArrayBuffer.isView(v) && v.buffer instanceof ArrayBuffer)
        .map((v) => v.buffer as ArrayBuffer))];
      send({ id: m.id, ok: true, result }, transfer);
    } catch (err) {
      send({ id: m.id, ok: false, message: err instanceof Error ? err.message : String(err) }, []);
    }
  });

  function runJob(K: Kernels, m: Job): Record<string, unknown> {
    const a = m as unknown as CodesJob;
    if (!(a.x instanceof Float32Array)) throw new Error(`a ${m.op} job's input must be a Float32Array`);
    // The input's buffer goes back with the answer (a copy made for this job), for the next piece.
    const spare = a.x.buffer instanceof ArrayBuffer ? { spare: a.x } : {};
    if (m.op === 'scan') return { ...K.scan(a.L, a.x, a.start, a.simd), ...spare };
    const x = a.x;
    const n = x.length;
    const words = Math.ceil(n / (32 / a.bits));
    // 8-bit codes on a little-endian platform are the packed words' own bytes: written there, no
    // pack pass; else the codes follow the words in the same buffer. The caller's buffer is
    // reused when large enough: a fresh one costs its pages' first touch.
    const direct = a.bits === 8 && K.littleEndian;
    const need = 4 * words + (direct ? 0 : n);
    const buffer = a.out instanceof ArrayBuffer && a.out.byteLength >= need ? a.out : new ArrayBuffer(need);
    const packed = new Uint32Array(buffer, 0, words);
    const at = direct ? 0 : 4 * words;
    const out = a.signed ? new Int8Array(buffer, at, n) : new Uint8Array(buffer, at, n);
    // A reused buffer's bytes past the last code would reach the last word: they are zero in a fresh one.
    if (direct) new Uint8Array(buffer, n, 4 * words - n).fill(0);
    K.codes(a.L, x, a.start, a.rule, a.qmin, a.qmax, a.params, out, a.simd);
    if (!direct) K.pack(out, a.bits, packed);
    const result: Record<string, unknown> = { packed, ...spare };
    if (!direct) result.codes = out;
    if (a.M) {
      if (scratch.length < n) scratch = new Float32Array(n);
      result.errors = K.errors(a.L, a.M, x, out, a.start, a.params, scratch);
    }
    return result;
  }
}

/** The source of a worker: the kernels, then {@link serve} bound to the platform's messaging. */
function workerSource(node: boolean): string {
  const bind = node
    ? `const { parentPort } = require('node:worker_threads');
       const on = (f) => parentPort.on('message', f);
       const send = (m, t) => parentPort.postMessage(m, t);`
    : `const on = (f) => { self.onmessage = (e) => f(e.data); };
       const send = (m, t) => self.postMessage(m, t);`;
  return `'use strict';\n${bind}\n(${serve.toString()})((${fastKernels.toString()})(${JSON.stringify(simdModule)}), on, send);\n`;
}

interface Handle {
  /** The Worker itself (a test ends one the way the system would, unannounced). */
  readonly raw: { terminate(): unknown };
  post(message: unknown, transfer: ArrayBuffer[]): void;
  terminate(): void;
  /** Node: whether the worker keeps the process alive (only while it has work). */
  hold(busy: boolean): void;
}

interface Slot {
  handle: Handle;
  job: { resolve(r: Record<string, unknown>): void; reject(e: unknown): void } | undefined;
}

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

let nodeThreads: Promise<{ Worker: new (src: string, o: { eval: true }) => NodeWorker; cores: number }> | undefined;
interface NodeWorker {
  postMessage(m: unknown, t: ArrayBuffer[]): void;
  on(event: string, f: (v: unknown) => void): void;
  terminate(): Promise<number>;
  ref(): void;
  unref(): void;
}

function loadNodeThreads(): NonNullable<typeof nodeThreads> {
  // Specifiers in variables, so that bundlers for the browser leave them alone (never reached there).
  const threads = 'node:worker_threads';
  const os = 'node:os';
  return (nodeThreads ??= Promise.all([import(/* @vite-ignore */ threads), import(/* @vite-ignore */ os)]).then(([t, o]) => ({
    Worker: (t as { Worker: new (src: string, o: { eval: true }) => NodeWorker }).Worker,
    cores: (o as { availableParallelism(): number }).availableParallelism(),
  })));
}

/** Logical cores of this machine: the default number of workers. */
export async function coreCount(): Promise<number> {
  if (isNode) return (await loadNodeThreads()).cores;
  return Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
}

/** A set of workers that run one job each at a time. */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private failure: QuantizationError | undefined;
  private nextId = 1;
  private readonly waiting: (() => void)[] = [];

  private constructor(readonly size: number) {}

  static async create(size: number): Promise<WorkerPool> {
    const pool = new WorkerPool(size);
    const make = isNode ? await nodeFactory() : webFactory();
    for (let i = 0; i < size; i++) {
      const slot: Slot = { handle: undefined as unknown as Handle, job: undefined };
      slot.handle = make(
        (reply) => pool.answer(slot, reply),
        (why) => pool.fail(`a CPU worker failed: ${why}`),
      );
      pool.slots.push(slot);
    }
    return pool;
  }

  /** Whether a worker failed or the pool was ended: it takes no more jobs. */
  get ended(): boolean {
    return this.failure !== undefined;
  }

  /** The worker handles, for tests that break one mid-tensor. */
  get handles(): readonly Handle[] {
    return this.slots.map((s) => s.handle);
  }

  /** Runs `job` on the next free worker; `transfer` buffers move to it. */
  async run(job: Job, transfer: ArrayBuffer[]): Promise<Record<string, unknown>> {
    for (;;) {
      if (this.failure) throw this.failure;
      const slot = this.slots.find((s) => !s.job);
      if (slot) {
        return new Promise((resolve, reject) => {
          slot.job = { resolve, reject };
          slot.handle.hold(true);
          slot.handle.post({ ...job, id: this.nextId++ }, transfer);
        });
      }
      await new Promise<void>((wake) => this.waiting.push(wake));
    }
  }

  /** Terminates every worker; jobs in flight reject with `reason`. */
  end(reason: QuantizationError): void {
    if (this.failure) return;
    this.failure = reason;
    for (const slot of this.slots) {
      slot.handle.terminate();
      slot.job?.reject(reason);
      slot.job = undefined;
    }
    for (const wake of this.waiting.splice(0)) wake();
  }

  private answer(slot: Slot, reply: Reply): void {
    const job = slot.job;
    slot.job = undefined;
    slot.handle.hold(false);
    this.waiting.shift()?.();
    if (!job) return;
    if (reply.ok) job.resolve(reply.result);
    else job.reject(new QuantizationError(`a CPU worker failed: ${reply.message}`));
  }

  private fail(why: string): void {
    this.end(new QuantizationError(why));
  }
}

type Factory = (answer: (r: Reply) => void, fail: (why: string) => void) => Handle;

async function nodeFactory(): Promise<Factory> {
  const { Worker } = await loadNodeThreads();
  const source = workerSource(true);
  return (answer, fail) => {
    const w = new Worker(source, { eval: true });
    let terminating = false;
    w.on('message', (r) => answer(r as Reply));
    w.on('error', (e) => fail(e instanceof Error ? e.message : String(e)));
    w.on('exit', (code) => {
      if (!terminating) fail(`a worker exited (code ${String(code)})`);
    });
    w.unref();
    return {
      raw: w,
      post: (m, t) => w.postMessage(m, t),
      terminate: () => {
        terminating = true;
        void w.terminate();
      },
      hold: (busy) => (busy ? w.ref() : w.unref()),
    };
  };
}

/** The workers' script, made once per page (every pool's workers load it). */
let webUrl: string | undefined;

function webFactory(): Factory {
  const url = (webUrl ??= URL.createObjectURL(new Blob([workerSource(false)], { type: 'text/javascript' })));
  return (answer, fail) => {
    const w = new Worker(url);
    w.onmessage = (e: MessageEvent<Reply>) => answer(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      fail(e.message || 'a worker raised an error');
    };
    return { raw: w, post: (m, t) => w.postMessage(m, t), terminate: () => w.terminate(), hold: () => {} };
  };
}

const pools = new Map<number, Promise<WorkerPool>>();

/**
 * The pool of `size` workers, kept across calls (one per size asked for, so calls with different
 * counts never end each other's); a fresh one when the last ended.
 */
export async function sharedPool(size: number): Promise<WorkerPool> {
  const known = pools.get(size);
  const current = known && (await known.catch(() => undefined));
  if (current && !current.ended) return current;
  if (pools.get(size) !== known) return sharedPool(size);
  const made = WorkerPool.create(size);
  pools.set(size, made);
  return made;
}

/** Ends every pool's workers (a later call starts new ones). */
export async function releaseWorkers(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  for (const pool of await Promise.all(all.map((p) => p.catch(() => undefined)))) {
    pool?.end(new QuantizationError('the CPU workers were released'));
  }
}

/** The kernels for work done in this thread. */
export const inThread: Kernels = fastKernels(simdModule);

/** What the fast CPU engine (`backend: 'cpu'`) has here. */
export interface CpuFacts {
  /** Workers a call runs on by default: the logical cores. */
  workers: number;
  /** Whether its WebAssembly SIMD loops run (else, or with `simd: false`, its JavaScript loops). */
  simd: boolean;
}

export async function cpuFacts(): Promise<CpuFacts> {
  return { workers: await coreCount(), simd: inThread.simd };
}
