/**
 * @module client/workers/verified-import — the crypto worker's lazy imports, checked.
 *
 * The build rewrites each `import("./chunks/x.js")` of the worker's code into
 * `__sealdropImport("chunks/x.js")` (client/build.ts): the chunk is fetched, its SHA-256 compared
 * with the build's table, and only then imported from a blob: URL (client/lib/verified-modules.ts
 * says why). The page hands over the table and the blob: URLs it already made with its first call
 * ('use-modules'); until then, and for any path the table does not hold, a lazy import fails, so
 * nothing unchecked can run.
 */
import { VerifiedModules, type ModuleTable } from '../lib/verified-modules.ts';

let modules: VerifiedModules | undefined;

export function useModules(table: ModuleTable, base: string, urls: Record<string, string>): void {
  modules = new VerifiedModules(table, base, urls);
}

(globalThis as { __sealdropImport?: (path: string) => Promise<unknown> }).__sealdropImport = async (path) => {
  if (!modules) throw new Error(`expected the module table before importing ${path}`);
  return import(/* the checked blob: URL */ await modules.url(path));
};
