/**
 * @module test/cli/attack14-key — the bundle's key against the ways a checkout changes: a new
 * import, a source outside cli/ and protocol/, a source replaced by a symlink, a moved checkout, and
 * a planted header whose inputs climb out of the checkout.
 */

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeCheckout, tempRoot, type Checkout } from './attack14-fixture.ts';

let tmp: { dir: string; cleanup(): Promise<void> };
let checkout: Checkout;

beforeEach(async () => {
  tmp = await tempRoot('sealdrop-attack14-key-');
  checkout = await makeCheckout(join(tmp.dir, 'checkout'));
  expect((await checkout.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
});

afterEach(async () => {
  await tmp.cleanup();
});

const MARK = '// The command modules are loaded on demand';

describe('the bundle key', () => {
  // HELD: a new import of a new file is seen on the next run, and so is the new file's next edit.
  it('follows a new import and the new file', async () => {
    await writeFile(join(checkout.dir, 'cli/extra.ts'), 'export const EXTRA = "one";\n');
    await checkout.edit('cli/main.ts', MARK, `import { EXTRA } from './extra.ts';\nif (process.argv.includes('--version')) console.log(EXTRA);\n${MARK}`);
    expect((await checkout.run(['--version'])).stdout).toBe('one\nsealdrop 0.1.0\n');
    await writeFile(join(checkout.dir, 'cli/extra.ts'), 'export const EXTRA = "two";\n');
    expect((await checkout.run(['--version'])).stdout).toBe('two\nsealdrop 0.1.0\n');
  });

  // HELD: a source outside cli/ and protocol/ (here shared/) is an input like any other.
  it('follows a source outside cli/ and protocol/', async () => {
    await mkdir(join(checkout.dir, 'shared'));
    await writeFile(join(checkout.dir, 'shared/word.ts'), 'export const WORD = "first";\n');
    await checkout.edit('cli/main.ts', MARK, `import { WORD } from '../shared/word.ts';\nif (process.argv.includes('--version')) console.log(WORD);\n${MARK}`);
    expect((await checkout.run(['--version'])).stdout).toBe('first\nsealdrop 0.1.0\n');
    await writeFile(join(checkout.dir, 'shared/word.ts'), 'export const WORD = "second";\n');
    expect((await checkout.run(['--version'])).stdout).toBe('second\nsealdrop 0.1.0\n');
  });

  // HELD: a source (a leaf module) replaced by a symlink to a file outside the checkout: the same bytes keep the bundle, an edit of the target is seen; on both paths alike.
  it('follows a source replaced by a symlink to outside the checkout', async () => {
    await writeFile(join(checkout.dir, 'cli/extra.ts'), 'export const EXTRA = "inside";\n');
    await checkout.edit('cli/main.ts', MARK, `import { EXTRA } from './extra.ts';\nif (process.argv.includes('--version')) console.log(EXTRA);\n${MARK}`);
    expect((await checkout.run(['--version'])).stdout).toBe('inside\nsealdrop 0.1.0\n');
    const outside = join(tmp.dir, 'outside-extra.ts');
    await writeFile(outside, 'export const EXTRA = "inside";\n');
    await rm(join(checkout.dir, 'cli/extra.ts'));
    await symlink(outside, join(checkout.dir, 'cli/extra.ts'));
    expect((await checkout.run(['--version'])).stdout).toBe('inside\nsealdrop 0.1.0\n');
    await writeFile(outside, 'export const EXTRA = "linked";\n');
    const fast = await checkout.run(['--version']);
    expect(fast.stdout).toBe('linked\nsealdrop 0.1.0\n');
    await checkout.useTsx();
    expect(await checkout.run(['--version'])).toEqual(fast);
  });

  // HELD: a moved checkout (another absolute path) rebuilds rather than trusting the old key.
  it('names the checkout: a moved checkout rebuilds', async () => {
    const before = (await readFile(checkout.bundle, 'latin1')).slice(0, 120);
    await rename(checkout.dir, join(tmp.dir, 'moved'));
    const moved = await makeCheckoutAt(join(tmp.dir, 'moved'));
    expect((await moved.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    expect((await readFile(moved.bundle, 'latin1')).slice(0, 120)).not.toBe(before);
  });

  // HELD: a planted header listing an input that climbs out of the checkout (its key made right over that file) is not run.
  it('never reads an input outside the checkout, whatever the header lists', async () => {
    const outside = join(tmp.dir, 'outside.txt');
    await writeFile(outside, 'outside\n');
    const bytes = await readFile(checkout.bundle);
    const text = bytes.toString('latin1');
    const header = /^\/\/ sealdrop-cli-bundle 1 key=[0-9a-f]{64} body=[0-9a-f]{64}\n\/\/ inputs=(.*)\n/.exec(text)!;
    const inputs = JSON.parse(header[1]!) as Inputs;
    const body = Buffer.concat([bytes.subarray(Buffer.byteLength(header[0], 'latin1')), Buffer.from('\nconsole.log("PLANTED");\n')]);
    for (const climb of ['cli/../../outside.txt', '../outside.txt', `${outside}`]) {
      const files = [...inputs.files, climb].sort();
      const contents = new Map<string, Buffer>();
      for (const file of files) contents.set(file, await readFile(file.startsWith('/') ? file : join(checkout.dir, file)));
      const key = bundleKey(checkout.dir, contents, inputs);
      const planted = `// sealdrop-cli-bundle 1 key=${key} body=${sha256(body)}\n// inputs=${JSON.stringify({ ...inputs, files })}\n`;
      await writeFile(checkout.bundle, Buffer.concat([Buffer.from(planted, 'latin1'), body]), { mode: 0o600 });
      expect((await checkout.run(['--version'])).stdout).toBe('sealdrop 0.1.0\n');
    }
    // The control: the same planting with the checkout's own inputs is run (so the key above is the real one).
    const contents = new Map<string, Buffer>();
    for (const file of inputs.files) contents.set(file, await readFile(join(checkout.dir, file)));
    const planted = `// sealdrop-cli-bundle 1 key=${bundleKey(checkout.dir, contents, inputs)} body=${sha256(body)}\n// inputs=${JSON.stringify(inputs)}\n`;
    await writeFile(checkout.bundle, Buffer.concat([Buffer.from(planted, 'latin1'), body]), { mode: 0o600 });
    expect((await checkout.run(['--version'])).stdout).toBe('PLANTED\nsealdrop 0.1.0\n');
  });
});

async function makeCheckoutAt(dir: string): Promise<Checkout> {
  const cacheDir = join(dir, 'node_modules/.cache/sealdrop-cli');
  const { runBin } = await import('./attack14-fixture.ts');
  return { ...checkout, dir, cacheDir, bundle: join(cacheDir, 'cli.mjs'), run: (args) => runBin(join(dir, 'cli/bin.js'), args, dir) };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** cli/fast-start.js's key, re-derived (length-prefixed fields). */
interface Inputs {
  files: string[];
  absent: string[];
  commands: string[];
  externals: Record<string, string>;
}

function bundleKey(root: string, contents: Map<string, Buffer>, { absent, commands, externals }: Inputs): string {
  const esbuild = JSON.parse(readFileSync(join(root, 'node_modules/esbuild/package.json'), 'utf8')).version as string;
  const hash = createHash('sha256');
  const field = (text: string) => {
    const bytes = Buffer.from(text, 'utf8');
    hash.update(`${bytes.length}:`).update(bytes);
  };
  field('sealdrop-cli-bundle 1');
  field(esbuild);
  field(root);
  for (const file of [...contents.keys()].sort()) {
    field(file);
    const bytes = contents.get(file)!;
    hash.update(`${bytes.length}:`).update(bytes);
  }
  field('absent');
  for (const file of [...absent].sort()) field(file);
  field('commands');
  for (const name of [...commands].sort()) field(name);
  field('externals');
  for (const [specifier, url] of Object.entries(externals).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    field(specifier);
    field(url);
  }
  return hash.digest('hex');
}

describe('an edit during a build', () => {
  // HELD: a source edited after the build read it (held open on a FIFO until then): the bundle is keyed by the bytes it compiled, so the next run rebuilds from the edit.
  it('is seen on the next run', async () => {
    const { mkfifo } = await import('./attack14-fixture.ts');
    const { open } = await import('node:fs/promises');
    const extra = join(checkout.dir, 'cli/extra.ts');
    await checkout.edit('cli/main.ts', MARK, `import { EXTRA } from './extra.ts';\nif (process.argv.includes('--version')) console.log(EXTRA);\n${MARK}`);
    await mkfifo(extra);
    const running = checkout.run(['--version']);
    const writer = await open(extra, 'w'); // the build is reading extra.ts now
    await writer.write('export const EXTRA = "as read";\n');
    await writer.close();
    // The edit lands while the build goes on: the file on disk is not what was compiled.
    await rm(extra);
    await writeFile(extra, 'export const EXTRA = "as edited";\n');
    expect((await running).stdout).toBe('as read\nsealdrop 0.1.0\n');
    expect((await checkout.run(['--version'])).stdout).toBe('as edited\nsealdrop 0.1.0\n');
  });
});
