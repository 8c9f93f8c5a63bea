import { defineDeskStories } from './stories-desks.ts';

defineDeskStories('chromium');
