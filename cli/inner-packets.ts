/**
 * @module cli/inner-packets — the packets OpenPGP.js parses inside a tip (what the SEIPD and any
 * compressed packet in it decrypt to), bounded on the bytes it reads before it parses them.
 *
 * OpenPGP.js reads every packet but a data packet whole into memory before it looks at it, and
 * parses a signature's subpacket areas in one synchronous loop, an object per subpacket. The
 * attacker's chair (helper-76) measured, before this module: one v6 signature inside the
 * encryption whose hashed area held 60 MiB of 2-byte subpackets (a 62.9 MB tip) ran the CLI out of
 * heap (4.67 GB, 45 s of CPU, every later tip of the bundle never reached; the CPU budget is
 * checked on the event loop, which that loop held), and 800 000 signatures of 25 bytes before the
 * data cost 937 MB before the budget ended them. A page sends one-pass signature, literal data,
 * signature (or the literal alone).
 *
 * And a packet it does not allow there (a PKESK, an unknown tag) it refuses only after reading the
 * rest of a SEIPD v1 whole, its MDC error to take precedence: a 10-byte packet of tag 30 before a
 * 400 MiB literal (a 419 MB tip) held the CLI 2.6 s at 941 MB, 2.3 times the tip.
 *
 * So every packet list OpenPGP.js parses under `innerPacketConfig`'s config passes through
 * `boundPackets` first: a packet must be of a tag a tip holds there (`ALLOWED`: inside, literal,
 * compressed, one-pass signature, signature, padding, marker), a packet other than a data packet
 * (inside: a literal or compressed packet) must have a definite length of at most MAX_INNER_PACKET_BYTES, a
 * tip may hold at most MAX_INNER_PACKETS of them and at most MAX_TIP_SIGNATURES signatures and as
 * many one-pass signatures (each a hash of the whole tip); otherwise the stream errors at that
 * packet's header, before OpenPGP.js reads it, and `refused` is told why (`hostile packet`, `too
 * many signatures`). The garbage a wrong session key gives (a PKESK that opens to a key other than
 * the SEIPD's) is mostly refused so at its first octets, as a hostile sender's tip; the rest is
 * no packet header, which OpenPGP.js refuses at once (`damaged`).
 * A list's one data packet passes whole, its partial lengths followed, so the packets after it (the
 * trailing signatures) are bounded too; a second data packet is refused (OpenPGP.js streams only
 * the first of a list and reads any after it whole: helper-77's finding); what is inside a
 * compressed packet is another list, bounded the same way (the counts go on) when OpenPGP.js parses it.
 *
 * The hook: OpenPGP.js offers none on the bytes of a list, so `PacketList.prototype.read` is
 * wrapped once, and bounds only the lists whose config carries a tip's bound (under a symbol,
 * which OpenPGP.js copies with the config it hands down and does not check): every other parse
 * (keys, signatures) is as before. The packets outside the encryption (`outerPacketConfig`, after
 * `boundOuterPackets` in cli/submission.ts bounded their head) are followed the same, with the
 * tags a tip holds outside: PKESK, SKESK, marker, padding, then its SEIPD (or AEAD, or SED).
 * Tests: `test/cli/outer-bound.test.ts` ("signatures inside the encryption", "packets no tip holds").
 */
import * as openpgp from 'openpgp';
import { newLengthAt, packetHeaderAt } from './seipd.ts';

/** A packet inside other than a data packet longer than this is refused (a page's signature: about 120 bytes). */
export const MAX_INNER_PACKET_BYTES = 8192;
/** More packets other than data packets than this in a tip are refused (a page: two). */
export const MAX_INNER_PACKETS = 16;
/** More signatures (or one-pass signatures) than this in a tip are refused before they are parsed. */
export const MAX_TIP_SIGNATURES = 4;

/**
 * The packets a tip may hold, by where they are; any other tag is refused at its header. Inside the
 * encryption: the data, a literal packet (a compressed one from gpg's default, inside it another
 * list), and one-pass signature and signature (a signed tip); padding and marker, which RFC 9580
 * says to ignore wherever they come (OpenPGP.js does), bounded as the rest. Outside: the key packets
 * (PKESK, and SKESK: `gpg --symmetric` with the keys), marker and padding, and the encrypted data
 * (SEIPD v1 or v2; an AEAD packet of gpg 2.3 and later; a SED, which OpenPGP.js refuses at once).
 */
const ALLOWED: Record<Bound['where'], { data: ReadonlySet<number>; others: ReadonlySet<number> }> = {
  'inside the encryption': { data: new Set([8, 11]), others: new Set([2, 4, 10, 21]) },
  'outside the encryption': { data: new Set([9, 18, 20]), others: new Set([1, 3, 10, 21]) },
};

/** Names of the tags RFC 9580 lists (5.), for the refusals' words. */
const TAG_NAMES: Record<number, string> = {
  0: 'reserved', 1: 'PKESK', 2: 'signature', 3: 'SKESK', 4: 'one-pass signature', 5: 'secret key', 6: 'public key',
  7: 'secret subkey', 8: 'compressed data', 9: 'SED', 10: 'marker', 11: 'literal data', 12: 'trust', 13: 'user ID',
  14: 'public subkey', 17: 'user attribute', 18: 'SEIPD', 19: 'MDC', 20: 'AEAD', 21: 'padding',
};
const tagName = (tag: number): string => TAG_NAMES[tag] ?? (tag >= 60 ? 'private or experimental' : 'unknown');

export type InnerRefusal = { reason: 'hostile packet' | 'too many signatures'; detail: string };

/** One tip's bound: its counts run over all its lists (a compressed packet's inside too). */
interface Bound {
  refused: (refusal: InnerRefusal) => void;
  signatures: number;
  onePass: number;
  others: number;
  /** how many packets other than data it may hold */
  maxOthers: number;
  /** where its packets are, for the refusals' words */
  where: 'inside the encryption' | 'outside the encryption';
}

/** The config property that carries a tip's bound (a symbol: OpenPGP.js refuses unknown names, and copies it with the config). */
const BOUND = Symbol('sealdrop inner-packet bound');

/**
 * OpenPGP.js config for one tip's decrypt: `refused` hears the first refusal (the decryption then
 * fails with an error of OpenPGP.js's own, which the caller replaces by it).
 */
export function innerPacketConfig(refused: (refusal: InnerRefusal) => void): Partial<openpgp.Config> {
  installHook();
  const bound: Bound = { refused, signatures: 0, onePass: 0, others: 0, maxOthers: MAX_INNER_PACKETS, where: 'inside the encryption' };
  return { [BOUND]: bound } as Partial<openpgp.Config>;
}

/**
 * The same for the tip's readMessage, the packets outside the encryption: their head is bounded
 * before (cli/submission.ts `boundOuterPackets`, at most `maxPackets` key packets), and this
 * follows the rest, so that nothing after the encrypted data passes whole: OpenPGP.js reads every
 * packet after the first data packet whole before its grammar refuses it (a literal of 800 MiB in
 * 1-byte parts after the SEIPD: 3 min 42 s at 4.46 GB before the CPU budget ended it, helper-78).
 */
export function outerPacketConfig(refused: (refusal: InnerRefusal) => void, maxPackets: number): Partial<openpgp.Config> {
  installHook();
  const bound: Bound = { refused, signatures: 0, onePass: 0, others: 0, maxOthers: maxPackets, where: 'outside the encryption' };
  return { [BOUND]: bound } as Partial<openpgp.Config>;
}

let hooked = false;
function installHook(): void {
  if (hooked) return;
  hooked = true;
  const prototype = openpgp.PacketList.prototype as unknown as { read: (bytes: unknown, allowed: unknown, config?: object, ...rest: unknown[]) => Promise<void> };
  const read = prototype.read;
  prototype.read = function (bytes, allowed, config, ...rest) {
    const bound = (config as { [BOUND]?: Bound } | undefined)?.[BOUND];
    const bounded = bound && bytes instanceof ReadableStream ? bytes.pipeThrough(boundPackets(bound)) : bytes;
    return read.call(this, bounded, allowed, config, ...rest);
  };
}

/**
 * The packet framing of one list, followed as the bytes pass: errors the stream (and tells
 * `refused`) at the header of a packet of a tag not ALLOWED where it is, of a second data packet,
 * and of a packet other than a data packet that is longer than MAX_INNER_PACKET_BYTES, has a
 * partial or indeterminate length, or is one too many. What it cannot frame (a byte that is no
 * packet header) it lets through to OpenPGP.js, which refuses it at once.
 */
function boundPackets(bound: Bound): TransformStream<Uint8Array, Uint8Array> {
  type State =
    | { at: 'header'; octets: number[] }
    | { at: 'body'; remaining: number; partial: boolean }
    | { at: 'through' };
  let state: State = { at: 'header', octets: [] };
  let data = false;
  const refuse = (detail: string, controller: TransformStreamDefaultController<Uint8Array>, reason: InnerRefusal['reason'] = 'hostile packet'): void => {
    bound.refused({ reason, detail });
    controller.error(new Error(detail));
  };
  return new TransformStream({
    transform(chunk, controller) {
      let i = 0;
      while (i < chunk.length && state.at !== 'through') {
        if (state.at === 'body') {
          const take = Math.min(state.remaining, chunk.length - i);
          i += take;
          state.remaining -= take;
          // a partial part's end: the next part's length follows
          if (state.remaining === 0) state = state.partial ? { at: 'header', octets: [-1] } : { at: 'header', octets: [] };
          continue;
        }
        state.octets.push(chunk[i++]!);
        const header = parseHeader(state.octets);
        if (header === 'more') continue;
        if (header === 'unframed') {
          state = { at: 'through' };
          break;
        }
        const allowed = ALLOWED[bound.where];
        if (!header.continuation && !allowed.data.has(header.tag) && !allowed.others.has(header.tag)) {
          return refuse(`a packet of tag ${header.tag} (${tagName(header.tag)}) ${bound.where}, which no tip holds; it was not read`, controller);
        }
        if (!header.continuation && allowed.data.has(header.tag)) {
          // OpenPGP.js streams only a list's first data packet and reads every packet after it whole
          if (data) return refuse(`a second data packet (tag ${header.tag}) ${bound.where} (a Sealdrop page sends one)`, controller);
          data = true;
        } else if (!header.continuation) {
          const name = `a packet of tag ${header.tag} ${bound.where}`;
          if (header.length === undefined) return refuse(`${name} has an indeterminate length (a Sealdrop page sends none)`, controller);
          if (header.partial) return refuse(`${name} has a partial length (only data packets may)`, controller);
          if (header.length > MAX_INNER_PACKET_BYTES) return refuse(`${name} is ${header.length} bytes (a Sealdrop page sends none over ${MAX_INNER_PACKET_BYTES})`, controller);
          // each signature is a hash of the whole tip
          if ((header.tag === 2 && ++bound.signatures > MAX_TIP_SIGNATURES) || (header.tag === 4 && ++bound.onePass > MAX_TIP_SIGNATURES)) {
            return refuse(`it carries more than ${MAX_TIP_SIGNATURES} signatures, each a hash of the whole tip (a Sealdrop page makes one); it was not read further`, controller, 'too many signatures');
          }
          if (++bound.others > bound.maxOthers) return refuse(`more than ${bound.maxOthers} packets other than data ${bound.where}`, controller);
        }
        // an indeterminate length runs to the end of the list
        state = header.length === undefined ? { at: 'through' } : { at: 'body', remaining: header.length, partial: header.partial };
        if (state.at === 'body' && state.remaining === 0) state = state.partial ? { at: 'header', octets: [-1] } : { at: 'header', octets: [] };
      }
      controller.enqueue(chunk);
    },
  });
}

type Header = { tag: number; length: number | undefined; partial: boolean; continuation: boolean };

/**
 * A packet header from its first octets (`[-1, …]`: the length of a partial body's next part,
 * new format): the header, 'more' when another octet is needed, 'unframed' when it is no header.
 */
function parseHeader(octets: number[]): Header | 'more' | 'unframed' {
  const bytes = Uint8Array.from(octets);
  if (octets[0] === -1) {
    const l = newLengthAt(bytes, 1);
    return l ? { tag: -1, length: l.length, partial: l.partial, continuation: true } : 'more';
  }
  if ((bytes[0]! & 0x80) === 0) return 'unframed';
  const header = packetHeaderAt(bytes, 0);
  return header ? { tag: header.tag, length: header.length, partial: header.partial, continuation: false } : 'more';
}
