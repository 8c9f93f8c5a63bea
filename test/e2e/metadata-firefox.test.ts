import { defineMetadataStories } from './stories-metadata.ts';

// Firefox ESR with the JIT off: what Tor Browser's "Safer" level runs.
defineMetadataStories('firefox');
