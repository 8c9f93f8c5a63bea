/**
 * @module test/cli/attack14-big-header — fast-start.js looks for its header in the bundle's first
 * 64 KiB only; a checkout with enough inputs writes a longer one, and then never finds it.
 */

import { readFile, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-header-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
});

afterEach(async () => {
  await tmp.cleanup();
});

describe('a header longer than 64 KiB', () => {
  // BROKEN (fails safe, costs speed): 700 modules with 100-character names make a 76 KiB header; every run rebuilds the bundle (about a second) and the cache is never used.
  it('is still found: the second run uses the bundle the first one built', async () => {
    const dir = join(checkout.dir, 'cli/generated');
    await mkdir(dir);
    const names = Array.from({ length: 700 }, (_, i) => `m${String(i).padStart(4, '0')}_${'x'.repeat(90)}`);
    for (const name of names) await writeFile(join(dir, `${name}.ts`), `export const ${name} = ${names.indexOf(name)};\n`);
    await writeFile(join(dir, 'all.ts'), `${names.map((name) => `import { ${name} } from './${name}.ts';`).join('\n')}\nexport const COUNT = [${names.join(', ')}].length;\n`);
    await checkout.edit('cli/main.ts', '// The command modules are loaded on demand', "import { COUNT } from './generated/all.ts';\nvoid COUNT;\n// The command modules are loaded on demand");

    expect((await checkout.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    const first = await stat(checkout.bundle);
    const header = (await readFile(checkout.bundle, 'latin1')).split('\n', 2).join('\n');
    expect(header.length).toBeGreaterThan(65536); // the premise
    expect((await checkout.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    const second = await stat(checkout.bundle);
    expect(second.ino).toBe(first.ino); // not rebuilt (a rebuild renames a new file over it)
  });
});
