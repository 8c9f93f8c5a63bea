/**
 * @module client/safety — the "how to stay safe" page needs its language, and the newsroom's
 * name and call for tips (the advice itself is in the page as built, and works without a script).
 */
import { getConfigPatiently } from './lib/api.ts';
import { readInstanceConfig } from './lib/instance.ts';
import { showInstance } from './lib/instance-view.ts';
import { initPage } from './lib/page.ts';

const page = initPage();
try {
  showInstance(page, readInstanceConfig(await getConfigPatiently()).instance);
} catch {
  // a server that cannot answer, or answers what the page does not expect: the advice stands alone
}
