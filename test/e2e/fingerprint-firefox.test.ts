import { defineFingerprintStories } from './stories-fingerprint.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineFingerprintStories('firefox');
