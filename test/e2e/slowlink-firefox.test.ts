import { defineSlowLinkStories } from './stories-slowlink.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineSlowLinkStories('firefox', 'ko');
