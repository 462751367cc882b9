// `npm run lint` runs dependency-cruiser with the repository's configuration: these cases show that
// configuration rejects an import cycle, including one closed by a type-only import.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);

async function cruise(dir: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await run('node_modules/.bin/depcruise', [dir, '--config', '.dependency-cruiser.cjs']);
    return { code: 0, output: stdout };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, output: err.stdout };
  }
}

describe('the import-cycle rule of npm run lint', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cycles-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('fails on a cycle closed by a type-only import', async () => {
    await writeFile(join(dir, 'a.ts'), "import { b } from './b.js';\nexport const a = (): number => b;\n");
    await writeFile(join(dir, 'b.ts'), "import type { a } from './a.js';\nexport const b = 1;\nexport type A = typeof a;\n");
    const { code, output } = await cruise(dir);
    expect(code).not.toBe(0);
    expect(output).toMatch(/no-circular: .*a\.ts/);
  });

  it('passes once the shared type moves down', async () => {
    await writeFile(join(dir, 'b.ts'), 'export const b = 1;\n');
    const { code } = await cruise(dir);
    expect(code).toBe(0);
  });
});
