/** @module bench/_native-pow — proof of work as an attacker pays it: native SHA-256 (node:crypto) on one core. */
import { createHash } from 'node:crypto';
import { leadingZeroBits } from '../protocol/pow.ts';

/** The smallest solution, in slices of 4096 tries with a yield between them (other requests of the process go on). */
export async function solveNatively(token: string, bits: number): Promise<string> {
  for (let nonce = 0; ; ) {
    for (const end = nonce + 4096; nonce < end; nonce++) {
      if (leadingZeroBits(createHash('sha256').update(`${token}:${nonce}`).digest()) >= bits) return String(nonce);
    }
    await new Promise((r) => setImmediate(r));
  }
}
