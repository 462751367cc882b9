// Module dependencies flow one way: `npm run lint` fails on any import cycle, type-only imports
// included (a type cycle is still two modules that cannot be understood one before the other).
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'Types and code flow downward: split or move what the two modules share.',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '\\?raw$' },
  },
};
