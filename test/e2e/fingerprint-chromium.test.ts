import { defineFingerprintStories } from './stories-fingerprint.ts';

defineFingerprintStories('chromium');
