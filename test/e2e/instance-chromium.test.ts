import { defineInstanceStories } from './stories-instance.ts';

defineInstanceStories('chromium');
