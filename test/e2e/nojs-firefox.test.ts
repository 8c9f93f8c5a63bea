import { defineNoScriptStories } from './stories-nojs.ts';

// Firefox ESR with javascript.enabled off: what Tor Browser's "Safest" level runs.
defineNoScriptStories('firefox');
