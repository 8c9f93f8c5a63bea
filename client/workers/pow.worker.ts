/** @module client/workers/pow.worker — solve one proof-of-work challenge off the page's thread. */
import { solvePow } from '../../protocol/pow.ts';
import type { PowRequest, PowResponse } from './messages.ts';

const post = (message: PowResponse) => self.postMessage(message);

self.onmessage = async (event: MessageEvent<PowRequest>) => {
  const { token, difficulty } = event.data;
  try {
    const nonce = await solvePow(token, difficulty, { onProgress: (tries) => post({ kind: 'progress', tries }) });
    post({ kind: 'solved', nonce });
  } catch (error) {
    const e = error as Error & { code?: string };
    post({ kind: 'error', error: { name: e.name, code: e.code, message: e.message } });
  }
};
