// llama.cpp's own reference quantizers, `quantize_row_q8_0_ref` and `quantize_row_q4_0_ref`, called
// through koffi from the prebuilt libggml-base.so that node-llama-cpp 3.21.1 ships for linux-x64:
// built from ggml-org/llama.cpp release v0.4.0 (node-llama-cpp's llama/binariesGithubRelease.json
// and the binaries' _nlcBuildMetadata.json), ggml 0.23.0 at commit 5b4ebc5 (the library's own
// ggml_version() and ggml_commit(), which `llamaCpp().version` reports). An x86-64 build: where
// C leaves a float → int conversion of ±Inf or NaN undefined, its bytes are what x86 gives.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { LibraryHandle } from 'koffi';

export interface LlamaCpp {
  /** ggml's version and commit, and the llama.cpp release the binaries were built from. */
  version: string;
  q8_0(x: Float32Array): Uint8Array;
  q4_0(x: Float32Array): Uint8Array;
  /** `quantize_row_<type>_ref`: blocks of `blockSize` weights, `blockBytes` each. */
  quantizeBlocks(type: string, blockSize: number, blockBytes: number, x: Float32Array): Uint8Array;
  /** `dequantize_row_<type>`. */
  dequantizeBlocks(type: string, blockSize: number, blockBytes: number, bytes: Uint8Array): Float32Array;
}

/** Why llama.cpp's library cannot be used on this machine, or undefined where it must load. */
export const LLAMA_CPP_UNAVAILABLE =
  process.platform === 'linux' && process.arch === 'x64'
    ? undefined
    : `node-llama-cpp's prebuilt linux-x64 libggml-base.so cannot load on ${process.platform}-${process.arch}`;

let loaded: LlamaCpp | undefined;

/** Loads the library (once); throws on linux-x64 if it cannot, rather than letting a test pass. */
export async function llamaCpp(): Promise<LlamaCpp> {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  // The package exports only its entry point, dist/index.js; the binaries sit beside dist/.
  const pkg = dirname(dirname(require.resolve('@node-llama-cpp/linux-x64')));
  const bins = join(pkg, 'bins', 'linux-x64');
  const lib = join(bins, 'libggml-base.so');
  if (!existsSync(lib)) throw new Error(`llama.cpp's library is missing: ${lib}`);
  const meta = JSON.parse(readFileSync(join(bins, '_nlcBuildMetadata.json'), 'utf8')) as {
    buildOptions: { llamaCpp: { repo: string; release: string } };
  };
  const koffi = (await import('koffi')).default;
  const ggml = koffi.load(lib);
  const q8 = ggml.func('void quantize_row_q8_0_ref(const float *x, _Out_ uint8_t *y, int64_t k)');
  const q4 = ggml.func('void quantize_row_q4_0_ref(const float *x, _Out_ uint8_t *y, int64_t k)');
  const version = `${meta.buildOptions.llamaCpp.repo} ${meta.buildOptions.llamaCpp.release}, ggml ${
    ggml.func('const char *ggml_version(void)')() as string} (${ggml.func('const char *ggml_commit(void)')() as string})`;
  const run = (fn: ReturnType<LibraryHandle['func']>, bytesPerBlock: number) => (x: Float32Array) => {
    if (x.length % 32 !== 0) throw new Error(`llama.cpp quantizes whole blocks of 32; got ${x.length} values`);
    const y = new Uint8Array((x.length / 32) * bytesPerBlock);
    fn(x, y, x.length);
    return y;
  };
  const fns = new Map<string, ReturnType<LibraryHandle['func']>>();
  const fn = (signature: string) => {
    let f = fns.get(signature);
    if (!f) fns.set(signature, (f = ggml.func(signature)));
    return f;
  };
  loaded = {
    version, q8_0: run(q8, 34), q4_0: run(q4, 18),
    quantizeBlocks(type, blockSize, blockBytes, x) {
      if (x.length % blockSize !== 0) throw new Error(`llama.cpp quantizes whole blocks of ${blockSize}; got ${x.length} values`);
      const y = new Uint8Array((x.length / blockSize) * blockBytes);
      fn(`void quantize_row_${type}_ref(const float *x, _Out_ uint8_t *y, int64_t k)`)(x, y, x.length);
      return y;
    },
    dequantizeBlocks(type, blockSize, blockBytes, bytes) {
      const y = new Float32Array((bytes.length / blockBytes) * blockSize);
      fn(`void dequantize_row_${type}(const uint8_t *x, _Out_ float *y, int64_t k)`)(bytes, y, y.length);
      return y;
    },
  };
  return loaded;
}
