import { builtinModules } from 'node:module';
import type { Plugin } from 'vite';
import { defineConfig } from 'vitest/config';
import pkg from './package.json' with { type: 'json' };
import { assembleWat } from './scripts/wat.js';

// The library's own dependencies stay imports, as a published package's do; Node built-ins too.
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...[...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies)].map((d) => new RegExp(`^${d}(/|$)`)),
];

// `import wasm from './x.wat'` gives the module's bytes, base64, assembled here from the text (in
// workers' bundles too: the page's worker imports the library).
const wat: Plugin = {
  name: 'wat',
  enforce: 'pre',
  async load(id) {
    if (!id.endsWith('.wat')) return null;
    this.addWatchFile(id);
    return `export default ${JSON.stringify(await assembleWat(id))};`;
  },
};

// One config for three jobs: `vite build` makes the library (dist/index.js and dist/model.js for
// browsers and Node, dist/cli.js for Node); `--mode demo` serves or builds the page in demo/; `vitest` runs the tests.
export default defineConfig(({ mode }) =>
  mode === 'demo'
    ? { root: 'demo', base: './', plugins: [wat], worker: { plugins: () => [wat] }, build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' } }
    : {
        plugins: [wat],
        worker: { plugins: () => [wat] },
        build: {
          target: 'es2022',
          outDir: 'dist',
          emptyOutDir: true,
          sourcemap: true,
          minify: false,
          lib: { entry: { index: 'src/index.ts', model: 'src/model/index.ts', cli: 'src/cli/main.ts' }, formats: ['es'] },
          rolldownOptions: { external },
        },
        test: {
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
);
