import { definePricingStories } from './stories-pricing.ts';

// Firefox ESR with the JIT off (Tor Browser "Safer"): base 19, so the tip with a 3 MiB file pays
// 20 bits, about 32 s on average at the worker's rate measured here at a load average of 9-12
// (33,174 SHA-256/s, protocol/PROTOCOL.md "Pricing"). At base 17 (18 bits, a quarter of that) a
// quiet machine solved it before the page's estimate passed the 5 s under which it names no wait.
definePricingStories('firefox', 19);
