/**
 * @module client/lib/newsroom — what the two pages with a tip form (submit, return) start with:
 * the server's config, its instance shown as soon as it is checked, the crypto worker, and every
 * desk's key checked against the fingerprint the config claims for it.
 */
import { getConfigPatiently, type ServerConfig } from './api.ts';
import { readInstanceConfig, type Instance } from './instance.ts';
import { showInstance } from './instance-view.ts';
import { type CheckedDesk, checkDeskKeys, checkNewsroomKey } from './newsroom-key.ts';
import type { Page } from './page.ts';
import { CryptoWorker } from './workers.ts';

export type Newsroom = { config: ServerConfig; crypto: CryptoWorker; instance: Instance; desks: CheckedDesk[] };

/**
 * Rejects with `KeyMismatchError` when the config claims another key than one it serves (then the
 * page sends nothing, not even a lookup), `InstanceConfigError` for an instance the page's check
 * refuses, `ModuleIntegrityError` for an altered worker.
 */
export async function loadNewsroom(page: Page): Promise<Newsroom> {
  const configAnswer = getConfigPatiently();
  // the newsroom's words need no worker: shown as soon as they are checked
  const newsroom = configAnswer.then((config) => {
    const read = readInstanceConfig(config);
    showInstance(page, read.instance);
    return read;
  });
  const [config, crypto, { instance, desks }] = await Promise.all([configAnswer, CryptoWorker.start(), newsroom]);
  await checkNewsroomKey(config, crypto);
  return { config, crypto, instance, desks: await checkDeskKeys(desks, crypto) };
}
