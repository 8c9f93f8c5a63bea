/**
 * @module cli/fast-start — runs the CLI from a cached single-file bundle of its TypeScript instead of
 * registering tsx (about a quarter of a second saved on every run), only when the bundle provably
 * matches the sources.
 *
 * The bundle is built by esbuild with exactly the checkout's tsconfig.json (never one in the current
 * directory or beside a source) and absWorkingDir the checkout; every bare import ('openpgp', …) is
 * resolved at build time as from the checkout's root and imported by its absolute file URL (bin.js's
 * tsx path resolves them the same way, cli/resolve-hooks.mjs). Its first two lines (any length up
 * to HEADER_LIMIT) say what it was built from:
 *
 *     // sealdrop-cli-bundle 1 key=<hex> body=<hex>
 *     // inputs={"files":[…],"absent":[…],"commands":[…],"externals":{…}}
 *
 * `files` are the inputs of esbuild's metafile (paths relative to the checkout), the few files that
 * steer the build, each external package's package.json, and the config files (tsconfig.json,
 * jsconfig.json, package.json) present in any folder holding an input; `absent` those config files
 * not present; `commands` the cli/commands/*.ts modules bundled (all present; main.ts's
 * COMMAND_NAMES decides which names exist); `externals` each bare import's resolved URL. key =
 * SHA-256 over the format, esbuild's version, the checkout's absolute path, each input's path and
 * content (content as read for the build, not after), each absent path, the commands and the
 * externals; body = SHA-256 of everything after the header. A run recomputes the key from the files
 * on disk now: any input changed or missing, an absent file present, another set of command modules,
 * another esbuild, a different checkout, or a body that does not match → rebuild.
 *
 * node_modules/.cache/sealdrop-cli/cli.mjs is the newest bundle; the file imported is its copy named
 * cli-<SHA-256 of all its bytes>.mjs, only ever created whole (temporary file + rename) with exactly
 * those bytes and never rewritten. A run reads cli.mjs once, checks it, and imports the name of the
 * hash of the bytes it checked: a bundle renamed over cli.mjs meanwhile (another checkout sharing
 * this node_modules) is not what runs. A build keeps the KEEP newest named bundles.
 *
 * The cache directory must be a real directory (not a symlink) owned by the current user with mode
 * 0700, node_modules (or where its link points) and node_modules/.cache real directories of that
 * user (or root) that no one else may write, and the bundles regular files of that user writable by
 * no one else; otherwise, or when esbuild cannot be found or fails, this returns null and bin.js
 * takes the tsx path. Deleting the directory is always safe: the next run rebuilds it.
 */

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire, isBuiltin } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FORMAT = 'sealdrop-cli-bundle 1';
const CLI_DIR = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(CLI_DIR, '..');
/** The checkout's own tsconfig.json: the only one either path reads (never the current directory's). */
export const TSCONFIG = join(ROOT, 'tsconfig.json');
/** Where the bundle is kept; safe to delete at any time. */
export const CACHE_DIR = join(ROOT, 'node_modules', '.cache', 'sealdrop-cli');
/** The newest bundle built (what a run checks first); the one imported is its content-named copy. */
const NEWEST = join(CACHE_DIR, 'cli.mjs');
/** How many content-named bundles are kept (the newest ones); older ones are deleted after a build. */
const KEEP = 4;
/** The header's two lines are looked for in this many bytes (bounded, far above any real header). */
const HEADER_LIMIT = 64 * 1024 * 1024;
/** Files that change the build without being its inputs: its options (this file), tsconfig, package.json. */
const STEERING = ['cli/fast-start.js', 'tsconfig.json', 'package.json'];
/** Config files a bundler or loader may look for beside any input: each one's presence is in the key. */
const NEARBY = ['tsconfig.json', 'jsconfig.json', 'package.json'];
const FIRST_LINE = /^\/\/ sealdrop-cli-bundle 1 key=([0-9a-f]{64}) body=([0-9a-f]{64})$/;
const COMMAND_FILE = /^[a-z0-9][a-z0-9-]*\.ts$/;

/**
 * The cached bundle's exports ({ main, createNodeIo, loadCommand }), built first if needed; null when
 * the cache cannot be trusted or built (then the caller registers tsx). Never throws.
 */
export async function loadFastCli() {
  try {
    const version = esbuildVersion();
    if (version === null || !trustedCacheDir()) return null;
    let name = currentBundle(version);
    if (name === null) name = await buildBundle(version);
    if (name === null) return null;
    return await import(pathToFileURL(join(CACHE_DIR, name)).href);
  } catch {
    return null;
  }
}

/**
 * How the sources' bare imports ('openpgp', …) resolve, on both paths: as from the checkout's root
 * (its node_modules), never from a folder of the sources (cli/node_modules) or of the cache.
 */
export const RESOLVE_PARENT = pathToFileURL(join(ROOT, 'package.json')).href;

function esbuildVersion() {
  try {
    const require = createRequire(RESOLVE_PARENT);
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

/**
 * A cache file's bytes and identity, read through a descriptor that refuses a symlink, checking who
 * may have written it; null if it is missing or not ours alone.
 */
function readCacheFile(path) {
  let fd;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
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
    return { bytes, dev: info.dev, ino: info.ino };
  } finally {
    closeSync(fd);
  }
}

/** The two header lines of a bundle (any length up to HEADER_LIMIT), or null. */
function parseHeader(bytes) {
  const first = bytes.indexOf(0x0a);
  if (first < 0 || first > HEADER_LIMIT) return null;
  const second = bytes.indexOf(0x0a, first + 1);
  if (second < 0 || second > HEADER_LIMIT) return null;
  const line1 = FIRST_LINE.exec(bytes.subarray(0, first).toString('latin1'));
  const line2 = bytes.subarray(first + 1, second).toString('latin1');
  if (line1 === null || !line2.startsWith('// inputs=')) return null;
  return { key: line1[1], body: line1[2], inputsJson: line2.slice('// inputs='.length), length: second + 1 };
}

/**
 * The name (cli-<sha256>.mjs) of the newest bundle if it matches the sources on disk now, else null.
 * The bundle is verified from one read of cli.mjs; what is imported is the file named by the SHA-256
 * of exactly those bytes, which is only ever created whole (temporary file + rename) with those
 * bytes and never rewritten: a bundle renamed over cli.mjs after the check is not what runs.
 */
function currentBundle(version) {
  const newest = readCacheFile(NEWEST);
  if (newest === null) return null;
  const { bytes } = newest;
  const header = parseHeader(bytes);
  if (header === null) return null;
  if (sha256(bytes.subarray(header.length)) !== header.body) return null;
  let inputs;
  try {
    inputs = JSON.parse(header.inputsJson);
  } catch {
    return null;
  }
  if (!isStringList(inputs?.files) || !isStringList(inputs?.absent) || !isStringList(inputs?.commands)) return null;
  if (inputs.externals === null || typeof inputs.externals !== 'object' || Array.isArray(inputs.externals)) return null;
  const externals = Object.entries(inputs.externals);
  if (!externals.every(([, url]) => typeof url === 'string')) return null;
  for (const name of STEERING) if (!inputs.files.includes(name)) return null;
  const contents = new Map();
  for (const file of inputs.files) {
    const path = insideCheckout(file);
    if (path === null) return null;
    try {
      contents.set(file, readFileSync(path));
    } catch {
      return null; // an input is gone: rebuild (and esbuild says what is wrong, or tsx does)
    }
  }
  for (const file of inputs.absent) {
    const path = insideCheckout(file);
    if (path === null || exists(path)) return null;
  }
  const commands = commandFiles();
  if (commands === null || commands.join('\n') !== [...inputs.commands].sort().join('\n')) return null;
  if (bundleKey(version, contents, inputs.absent, commands, new Map(externals)) !== header.key) return null;

  const hex = sha256(bytes);
  const name = `cli-${hex}.mjs`;
  const named = readCacheFile(join(CACHE_DIR, name));
  if (named !== null && ((named.dev === newest.dev && named.ino === newest.ino) || sha256(named.bytes) === hex)) return name;
  // Missing (pruned, or cli.mjs was written in place): made from the bytes just verified.
  return writeWhole(name, bytes) ? name : null;
}

/** The command modules present (cli/commands/*.ts but tests), sorted; null if unreadable. */
function commandFiles() {
  try {
    return readdirSync(join(CLI_DIR, 'commands'))
      .filter((file) => COMMAND_FILE.test(file) && !file.endsWith('.test.ts') && !file.endsWith('.d.ts'))
      .map((file) => file.slice(0, -'.ts'.length))
      .sort();
  } catch {
    return null;
  }
}

/** Returns the new bundle's name, or null when it cannot be built (the caller takes the tsx path). */
async function buildBundle(version) {
  // The key is over the bytes esbuild compiled: each input is read once, here or in the plugin.
  const contents = new Map();
  for (const file of STEERING) contents.set(file, readFileSync(join(ROOT, file)));
  // Every command module present is bundled; main.ts's COMMAND_NAMES (compiled, not read here)
  // decides which names exist, and a listed name without a module is "not available", as under tsx.
  const commands = commandFiles();
  if (commands === null) return null;
  const entry = [
    "export { main } from './main.ts';",
    "export { createNodeIo } from './io.ts';",
    'const commands = {',
    ...commands.map((name) => `  ${JSON.stringify(name)}: () => import(${JSON.stringify(`./commands/${name}.ts`)}),`),
    '};',
    'export function loadCommand(name) {',
    '  return Object.hasOwn(commands, name) ? commands[name]() : null;',
    '}',
    '',
  ].join('\n');

  const externals = new Map();
  const sources = {
    name: 'sealdrop-sources',
    setup(build) {
      // A bare import is resolved now, as from the checkout's root (RESOLVE_PARENT), and imported by
      // that absolute URL: never from node_modules/.cache (where the bundle lives) or a source folder.
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData?.fromRoot === true || args.kind === 'entry-point') return undefined;
        if (isBuiltin(args.path)) return { path: args.path, external: true };
        if (/^[a-z][a-z0-9+.-]*:/i.test(args.path)) throw new Error(`unexpected import ${args.path}`);
        const found = await build.resolve(args.path, { kind: args.kind, resolveDir: ROOT, pluginData: { fromRoot: true } });
        if (found.errors.length > 0 || !isAbsolute(found.path)) throw new Error(`cannot resolve ${args.path}`);
        const url = pathToFileURL(found.path).href;
        if (externals.has(args.path) && externals.get(args.path) !== url) throw new Error(`${args.path} resolves twice`);
        externals.set(args.path, url);
        const pkg = packageJsonOf(args.path);
        contents.set(pkg, contents.get(pkg) ?? readFileSync(join(ROOT, pkg)));
        return { path: url, external: true };
      });
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
    const loaded = await import(pathToFileURL(createRequire(RESOLVE_PARENT).resolve('esbuild')).href);
    esbuild = loaded.default ?? loaded;
  } catch {
    return null;
  }
  let result;
  try {
    result = await esbuild.build({
      stdin: { contents: entry, resolveDir: CLI_DIR, loader: 'js' },
      absWorkingDir: ROOT,
      // Exactly the checkout's tsconfig.json, for every file: no tsconfig.json found beside a source.
      tsconfig: TSCONFIG,
      bundle: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      // As Node resolves an import: no "module" condition, no "module" main field.
      conditions: [],
      mainFields: ['main'],
      metafile: true,
      write: false,
      logLevel: 'silent',
      plugins: [sources],
    });
  } catch {
    return null; // a source that does not compile: the tsx path reports it as it always has
  }
  const built = Object.keys(result.metafile.inputs).filter((file) => file !== '<stdin>');
  if (built.some((file) => !contents.has(file))) return null;
  const packages = new Set([...externals.keys()].map(packageJsonOf));
  for (const file of [...contents.keys()]) if (!built.includes(file) && !STEERING.includes(file) && !packages.has(file)) contents.delete(file);
  if (esbuildVersion() !== version || esbuild.version !== version) return null;

  // Each folder holding an input (up to the checkout): its config files present are inputs, the
  // others are absent (one appearing later, e.g. cli/tsconfig.json, makes the next run rebuild).
  const absent = [];
  const folders = new Set();
  for (const file of contents.keys()) {
    if (packages.has(file)) continue;
    for (let dir = dirname(file); ; dir = dirname(dir)) {
      folders.add(dir);
      if (dir === '.') break;
    }
  }
  for (const dir of [...folders].sort()) {
    for (const name of NEARBY) {
      const file = dir === '.' ? name : `${dir}/${name}`;
      if (contents.has(file)) continue;
      try {
        contents.set(file, readFileSync(join(ROOT, file)));
      } catch (error) {
        if (error?.code !== 'ENOENT') return null;
        absent.push(file);
      }
    }
  }

  const body = Buffer.from(result.outputFiles[0].contents);
  const files = [...contents.keys()].sort();
  const key = bundleKey(version, contents, absent, commands, externals);
  const inputs = { files, absent, commands, externals: Object.fromEntries([...externals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
  const header = `// ${FORMAT} key=${key} body=${sha256(body)}\n// inputs=${JSON.stringify(inputs)}\n`;
  const bytes = Buffer.concat([Buffer.from(header, 'latin1'), body]);
  const name = `cli-${sha256(bytes)}.mjs`;
  if (!writeWhole(name, bytes) || !writeWhole('cli.mjs', bytes)) return null;
  prune(name);
  return name;
}

/** Writes a cache file whole: a temporary file of its own, renamed over `name`. */
function writeWhole(name, bytes) {
  const temporary = join(CACHE_DIR, `.${name}.${process.pid}.${randomBytes(8).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, bytes, { flag: 'wx', mode: 0o600 });
    renameSync(temporary, join(CACHE_DIR, name));
    return true;
  } catch {
    rmSync(temporary, { force: true });
    return false;
  }
}

/** Deletes all but the KEEP newest content-named bundles (never `keep`, the one just built). */
function prune(keep) {
  try {
    const named = readdirSync(CACHE_DIR)
      .filter((file) => /^cli-[0-9a-f]{64}\.mjs$/.test(file) && file !== keep)
      .map((file) => ({ file, time: lstatSync(join(CACHE_DIR, file)).mtimeMs }))
      .sort((a, b) => b.time - a.time);
    for (const { file } of named.slice(KEEP - 1)) rmSync(join(CACHE_DIR, file), { force: true });
  } catch {
    // another process pruned at the same time: nothing to do
  }
}

/** 'openpgp' → node_modules/openpgp/package.json; '@noble/hashes/sha2.js' → node_modules/@noble/hashes/package.json. */
function packageJsonOf(specifier) {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return `node_modules/${name}/package.json`;
}

function bundleKey(version, contents, absent, commands, externals) {
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
  field('commands');
  for (const name of [...commands].sort()) field(name);
  field('externals');
  for (const [specifier, url] of [...externals].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    field(specifier);
    field(url);
  }
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
