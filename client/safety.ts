/** @module client/safety — the "how to stay safe" page only needs its language. */
import { initPage } from './lib/page.ts';

initPage();
