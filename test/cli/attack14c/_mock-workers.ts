/** Sources of the workers started, and how the next one's source is changed (as cli/seipd.test.ts does). */
export const isFastWorker = (source: string): boolean => source.includes("createHash('sha1')");
/** The fast path switched off: its worker exits at once, so the path declines before reading. */
export const FAST_OFF = (source: string): string => (isFastWorker(source) ? 'process.exit(3);' : source);
