import { builtinModules } from 'node:module';
import { defineConfig } from 'vitest/config';
import pkg from './package.json' with { type: 'json' };

// The library's own dependencies stay imports, as a published package's do; Node built-ins too.
const external = [
  ...builtinModules,
  ...builtinModules.map((m) => `node:${m}`),
  ...[...Object.keys(pkg.dependencies), ...Object.keys(pkg.optionalDependencies)].map((d) => new RegExp(`^${d}(/|$)`)),
];

// One config for three jobs: `vite build` makes the library (dist/index.js and dist/model.js for
// browsers and Node, dist/cli.js for Node); `--mode demo` serves or builds the page in demo/; `vitest` runs the tests.
export default defineConfig(({ mode }) =>
  mode === 'demo'
    ? { root: 'demo', base: './', build: { outDir: 'dist', emptyOutDir: true, target: 'es2022' } }
    : {
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
