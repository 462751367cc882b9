// Assembles a WebAssembly text file (.wat) into its binary, base64-encoded, with WABT: how the
// fast CPU engine's hand-written SIMD loops (src/fast/simd.wat) reach the library. vite.config.ts
// runs it for `import wasm from './x.wat'` in the build, the page and the tests; the fuzz runner
// (tsx, no Vite) runs it through a module hook. The result is validated, so a malformed text
// fails the build rather than a user's run.
import { readFile } from 'node:fs/promises';
import initWabt from 'wabt';

export async function assembleWat(path: string): Promise<string> {
  const wabt = await initWabt();
  const module = wabt.parseWat(path, await readFile(path, 'utf8'));
  try {
    module.validate();
    return Buffer.from(module.toBinary({}).buffer).toString('base64');
  } finally {
    module.destroy();
  }
}
