/**
 * @module client/lib/instance-view — the newsroom's name, logo and call for tips on every page,
 * its intro on the first one, in the page's language (client/lib/instance.ts checks them first).
 *
 * Without a name the header says what the site is, in the page's language ("Secure tip line"),
 * never "Sealdrop": that is the software, not who reads the tips. The footer says "Powered by
 * Sealdrop" either way.
 */
import type { Language } from '../i18n/index.ts';
import { renderBlocks, markInstanceText, type Instance } from './instance.ts';
import { show, type Page } from './page.ts';

export function showInstance(page: Page, instance: Instance): void {
  const render = (language: Language) => {
    const brand = document.getElementById('brand');
    if (brand && instance.name !== null) {
      const name = document.createElement('span');
      name.id = 'brand-name';
      name.className = 'name';
      name.dataset.testid = 'newsroom-name';
      name.dir = 'auto';
      name.textContent = instance.name;
      const parts: HTMLElement[] = [];
      if (instance.logo) {
        const logo = document.createElement('img');
        logo.className = 'logo';
        logo.src = instance.logo;
        logo.alt = instance.name;
        logo.decoding = 'async';
        parts.push(logo);
      }
      brand.replaceChildren(...parts, name);
    }
    const call = document.getElementById('instance-call');
    if (call) fill(call, 'callForTips', language);
    const intro = document.getElementById('instance-intro');
    if (intro) fill(intro, 'intro', language);
    const submitIntro = document.getElementById('submit-intro');
    if (submitIntro && instance.name !== null) page.setText(submitIntro, 'submit_intro_named', { name: instance.name });
  };
  const fill = (el: HTMLElement, field: 'callForTips' | 'intro', language: Language) => {
    const content = instance[field]?.[language] ?? [];
    el.replaceChildren(...renderBlocks(document, content));
    markInstanceText(el, instance, field, language);
    show(el, content.length > 0);
  };
  render(page.language);
  page.onLanguageChange(render);
}
