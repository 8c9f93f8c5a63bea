declare module '*.json' {
  const value: Record<string, string>;
  export default value;
}

/** The worker modules and their SHA-256, written into the page scripts by client/build.ts. */
declare const __SEALDROP_WORKER_MODULES__: import('./lib/verified-modules.ts').ModuleTable;
