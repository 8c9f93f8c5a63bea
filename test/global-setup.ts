/** Builds client/dist once before the tests: the browser stories and the server's static pages need it. */
import { buildClient } from '../client/build.ts';

export default async function setup(): Promise<void> {
  await buildClient();
}
