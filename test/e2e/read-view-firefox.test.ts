import { defineReadViewStories } from './stories-read-view.ts';

// The editor's read view (sealdrop read) in the offline machine's stock Firefox ESR (JIT on, as installed).
defineReadViewStories('firefox');
