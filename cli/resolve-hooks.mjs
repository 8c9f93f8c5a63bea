/**
 * @module cli/resolve-hooks — a Node resolve hook for the tsx path (cli/bin.js registers it): a bare
 * import ('openpgp', …) of a checkout source resolves as from the checkout's root, exactly as the
 * cached bundle's imports were resolved when it was built (cli/fast-start.js, RESOLVE_PARENT), never
 * from a folder of the sources such as cli/node_modules. Relative, absolute, node: and #imports, and
 * every import made by a package itself, are left to Node (and tsx) as they are.
 */

let sources = '';
let parentURL = '';
let modules = '';

/** `data`: { root } (the checkout's file URL, ending in /) and { parent } (RESOLVE_PARENT). */
export function initialize(data) {
  sources = data.root;
  parentURL = data.parent;
  modules = `${data.root}node_modules/`;
}

export async function resolve(specifier, context, nextResolve) {
  const from = context.parentURL;
  const bare = !/^[./#]/.test(specifier) && !/^[a-z][a-z0-9+.-]*:/i.test(specifier);
  if (bare && typeof from === 'string' && from.startsWith(sources) && !from.startsWith(modules) && !from.slice(sources.length).includes('/node_modules/')) {
    return nextResolve(specifier, { ...context, parentURL });
  }
  return nextResolve(specifier, context);
}
