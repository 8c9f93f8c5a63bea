import { defineReadViewStories } from './stories-read-view.ts';

// The editor's read view (sealdrop read) in Debian's Chromium.
defineReadViewStories('chromium');
