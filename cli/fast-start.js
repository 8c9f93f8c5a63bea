/**
 * @module cli/fast-start — runs the CLI from a cached single-file bundle of its TypeScript instead of
 * registering tsx (about a quarter of a second saved on every run), only when the bundle provably
 * matches the sources.
 *
 * The bundle is node_modules/.cache/sealdrop-cli/cli.mjs, built by esbuild (packages external, so
 * `import 'openpgp'` still resolves to node_modules and to the instance bin.js loaded). Its first
 * two lines say what it was built from:
 *
 *     // sealdrop-cli-bundle 1 key=<hex> body=<hex>
 *     // inputs={"files":[…],"absent":[…]}
 *
 * `files` are the inputs of esbuild's metafile (paths relative to the checkout) plus the few files
 * that steer the build; `absent` the command modules this copy lacked. key = SHA-256 over the format,
 * esbuild's version, the checkout's absolute path, and each input's path and content (content as
 * read for the build, not after), each absent path; body = SHA-256 of everything after the header.
 * A run recomputes the key from the files on disk now: any input changed or missing, an absent
 * command present, another esbuild, a different checkout, or a body that does not match → rebuild.
 *
 * The cache directory must be a real directory (not a symlink) owned by the current user with mode
 * 0700, node_modules (or where its link points) and node_modules/.cache real directories of that
 * user (or root) that no one else may write, and the bundle a regular file of that user writable by no one else; otherwise, or when
 * esbuild cannot be found or fails, this returns null and bin.js takes the tsx path. Deleting the
 * directory is always safe: the next run rebuilds it. Writes are a temporary file in the same
 * directory renamed over cli.mjs, so processes running at once each see a whole bundle.
 */

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FORMAT = 'sealdrop-cli-bundle 1';
const CLI_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(CLI_DIR, '..');
/** Where the bundle is kept; safe to delete at any time. */
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'sealdrop-cli');
const BUNDLE = join(CACHE_DIR, 'cli.mjs');
/** Files that change the build without being its inputs: its options (this file), tsconfig, package.json. */
const STEERING = ['cli/fast-start.js', 'tsconfig.json', 'package.json'];
const HEADER = /^\/\/ sealdrop-cli-bundle 1 key=([0-9a-f]{64}) body=([0-9a-f]{64})\n\/\/ inputs=(.*)\n/;

/**
 * The cached bundle's exports ({ main, createNodeIo, loadCommand }), built first if needed; null when
 * the cache cannot be trusted or built (then the caller registers tsx). Never throws.
 */
export async function loadFastCli() {
  try {
    const version = esbuildVersion();
    if (version === null || !trustedCacheDir()) return null;
    if (cachedBundleIsCurrent(version)) return await import(pathToFileURL(BUNDLE).href);
    if (!(await buildBundle(version))) return null;
    return await import(pathToFileURL(BUNDLE).href);
  } catch {
    return null;
  }
}

function esbuildVersion() {
  try {
    const require = createRequire(import.meta.url);
    const { version } = JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8'));
    return typeof version === 'string' ? version : null;
  } catch {
    return null;
  }
}

/** Makes the cache directory if it is missing (mode 0700); true only if it is one we can trust. */
function trustedCacheDir() {
  if (typeof process.getuid !== 'function') return false;
  // node_modules itself is never made here: without it there is nothing to resolve openpgp from.
  for (const dir of [dirname(CACHE_DIR), CACHE_DIR]) {
    try {
      mkdirSync(dir, { mode: 0o700 });
    } catch (error) {
      if (error?.code !== 'EEXIST') return false;
    }
  }
  // Whoever may write a folder above it could swap the cache for their own after this check.
  // node_modules may be a link (to a folder holding the same trust as the checkout's sources).
  const uid = process.getuid();
  for (const [dir, follow] of [[dirname(dirname(CACHE_DIR)), true], [dirname(CACHE_DIR), false]]) {
    const above = follow ? statSync(dir) : lstatSync(dir);
    if (!above.isDirectory() || (above.uid !== uid && above.uid !== 0) || (above.mode & 0o022) !== 0) return false;
  }
  const info = lstatSync(CACHE_DIR);
  return info.isDirectory() && info.uid === uid && (info.mode & 0o777) === 0o700;
}

/** Reads the bundle through a descriptor that refuses a symlink, checking who may have written it. */
function readBundle() {
  let fd;
  try {
    fd = openSync(BUNDLE, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return null;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile() || info.uid !== process.getuid() || (info.mode & 0o022) !== 0) return null;
    const bytes = Buffer.allocUnsafe(info.size);
    let done = 0;
    while (done < bytes.length) {
      const n = readSync(fd, bytes, done, bytes.length - done, done);
      if (n === 0) return null;
      done += n;
    }
    return bytes;
  } finally {
    closeSync(fd);
  }
}

function cachedBundleIsCurrent(version) {
  const bytes = readBundle();
  if (bytes === null) return false;
  const head = bytes.subarray(0, Math.min(bytes.length, 65536)).toString('latin1');
  const match = HEADER.exec(head);
  if (match === null) return false;
  const [header, key, body, inputsJson] = match;
  if (sha256(bytes.subarray(Buffer.byteLength(header, 'latin1'))) !== body) return false;
  let inputs;
  try {
    inputs = JSON.parse(inputsJson);
  } catch {
    return false;
  }
  if (!isStringList(inputs?.files) || !isStringList(inputs?.absent)) return false;
  for (const name of STEERING) if (!inputs.files.includes(name)) return false;
  const contents = new Map();
  for (const file of inputs.files) {
    const path = insideCheckout(file);
    if (path === null) return false;
    try {
      contents.set(file, readFileSync(path));
    } catch {
      return false; // an input is gone: rebuild (and esbuild says what is wrong, or tsx does)
    }
  }
  for (const file of inputs.absent) {
    const path = insideCheckout(file);
    if (path === null || exists(path)) return false;
  }
  return bundleKey(version, contents, inputs.absent) === key;
}

async function buildBundle(version) {
  // The key is over the bytes esbuild compiled: each input is read once, here or in the plugin.
  const contents = new Map();
  for (const file of STEERING) contents.set(file, readFileSync(join(ROOT, file)));
  // The commands are main.ts's own list (COMMAND_NAMES), read from the bytes that are compiled.
  const mainBytes = readFileSync(join(CLI_DIR, 'main.ts'));
  contents.set('cli/main.ts', mainBytes);
  const list = /\bconst COMMAND_NAMES = \[([^\]]*)\] as const;/.exec(mainBytes.toString('utf8'));
  const names = list === null ? [] : [...list[1].matchAll(/'([a-z][a-z-]*)'/g)].map((m) => m[1]);
  if (names.length === 0) return false;
  const absent = names.map((name) => `cli/commands/${name}.ts`).filter((file) => !exists(join(ROOT, file)));
  const present = names.filter((name) => !absent.includes(`cli/commands/${name}.ts`));
  const entry = [
    "export { main } from './main.ts';",
    "export { createNodeIo } from './io.ts';",
    'const commands = {',
    ...present.map((name) => `  ${JSON.stringify(name)}: () => import(${JSON.stringify(`./commands/${name}.ts`)}),`),
    '};',
    'export function loadCommand(name) {',
    '  return Object.hasOwn(commands, name) ? commands[name]() : null;',
    '}',
    '',
  ].join('\n');

  const sources = {
    name: 'sealdrop-sources',
    setup(build) {
      build.onLoad({ filter: /.*/ }, (args) => {
        const file = relative(ROOT, args.path).split(sep).join('/');
        if (insideCheckout(file) === null || file.startsWith('node_modules/')) throw new Error(`outside the sources: ${args.path}`);
        const bytes = contents.get(file) ?? readFileSync(args.path);
        contents.set(file, bytes);
        let text = bytes.toString('utf8');
        // In the bundle import.meta.url would be the bundle's own URL: each module keeps its source's.
        text = text.replace(/\bimport\.meta\.url\b/g, JSON.stringify(pathToFileURL(args.path).href));
        if (/\bimport\.meta\b/.test(text)) throw new Error(`import.meta other than .url in ${file}`);
        return { contents: text, loader: args.path.endsWith('.ts') ? 'ts' : args.path.endsWith('.json') ? 'json' : 'js' };
      });
    },
  };

  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return false;
  }
  let result;
  try {
    result = await esbuild.build({
      stdin: { contents: entry, resolveDir: CLI_DIR, loader: 'js' },
      absWorkingDir: ROOT,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      metafile: true,
      write: false,
      logLevel: 'silent',
      plugins: [sources],
    });
  } catch {
    return false; // a source that does not compile: the tsx path reports it as it always has
  }
  const built = Object.keys(result.metafile.inputs).filter((file) => file !== '<stdin>');
  if (built.some((file) => !contents.has(file))) return false;
  for (const file of [...contents.keys()]) if (!built.includes(file) && !STEERING.includes(file)) contents.delete(file);
  if (esbuildVersion() !== version || esbuild.version !== version) return false;

  const body = Buffer.from(result.outputFiles[0].contents);
  const files = [...contents.keys()].sort();
  const key = bundleKey(version, contents, absent);
  const header = `// ${FORMAT} key=${key} body=${sha256(body)}\n// inputs=${JSON.stringify({ files, absent })}\n`;
  const temporary = join(CACHE_DIR, `.cli.mjs.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, Buffer.concat([Buffer.from(header, 'latin1'), body]), { flag: 'wx', mode: 0o600 });
    renameSync(temporary, BUNDLE);
  } catch {
    rmSync(temporary, { force: true });
    return false;
  }
  return true;
}

function bundleKey(version, contents, absent) {
  const hash = createHash('sha256');
  const field = (text) => {
    const bytes = Buffer.from(text, 'utf8');
    hash.update(`${bytes.length}:`).update(bytes);
  };
  field(FORMAT);
  field(version);
  field(ROOT);
  for (const file of [...contents.keys()].sort()) {
    field(file);
    const bytes = contents.get(file);
    hash.update(`${bytes.length}:`).update(bytes);
  }
  field('absent');
  for (const file of [...absent].sort()) field(file);
  return hash.digest('hex');
}

/** The absolute path of a checkout-relative path, or null if it would leave the checkout. */
function insideCheckout(file) {
  if (typeof file !== 'string' || file === '' || isAbsolute(file)) return null;
  const path = resolve(ROOT, file);
  const back = relative(ROOT, path);
  return back === '' || back.startsWith('..') || isAbsolute(back) ? null : path;
}

function exists(path) {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function isStringList(value) {
  return Array.isArray(value) && value.every((item) => typeof item === 'string');
}

function sha256(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}
