/** @module the editor API endpoint of `pull` and `push`: --server, --socks5 and SEALDROP_TOKEN. */
import { CliError, usageError } from '../errors.ts';
import type { CliIo } from '../io.ts';
import { EditorRequestError, parseServerUrl, type EditorEndpoint } from './http.ts';
import { parseSocks5Address, Socks5Error } from './socks5.ts';

export const TOKEN_ENV = 'SEALDROP_TOKEN';
export const SERVER_ENV = 'SEALDROP_SERVER';
const TOKEN_SHAPE = /^sde_[A-Za-z0-9_-]{43}$/;

export function endpointFrom(command: string, io: CliIo, server: string | undefined, socks5: string | undefined): EditorEndpoint {
  const serverText = server ?? io.env[SERVER_ENV];
  if (serverText === undefined || serverText === '') {
    throw usageError(`${command}: no editor API address`, `give --server URL or set ${SERVER_ENV} (e.g. http://<address>.onion with --socks5 127.0.0.1:9050)`);
  }
  let proxy;
  if (socks5 !== undefined) {
    try {
      proxy = parseSocks5Address(socks5);
    } catch (error) {
      throw usageError(`${command}: ${(error as Error).message}`, "Tor's SOCKS port is usually 127.0.0.1:9050 (9150 for Tor Browser)");
    }
  }
  const token = io.env[TOKEN_ENV];
  if (token === undefined || token === '') {
    throw new CliError(`${TOKEN_ENV} is not set`, {
      hint: `ask the server operator for an editor token ("npm run admin -- token add NAME") and export ${TOKEN_ENV}=sde_…`,
    });
  }
  if (!TOKEN_SHAPE.test(token)) {
    // Never echo the value: it may be a real token with a typo.
    throw new CliError(`${TOKEN_ENV} does not look like an editor token (sde_ and 43 more characters)`, {
      hint: 'copy the whole token printed by "npm run admin -- token add NAME", without quotes or spaces',
    });
  }
  try {
    return { server: parseServerUrl(serverText, proxy), socks5: proxy, token };
  } catch (error) {
    throw asCliError(error);
  }
}

/** Network and server refusals as the CLI reports them. Other errors pass through unchanged. */
export function asCliError(error: unknown): unknown {
  if (error instanceof EditorRequestError) return new CliError(error.message, { hint: error.hint, cause: error });
  if (error instanceof Socks5Error) return new CliError(error.message, { hint: 'is Tor running, and is the onion address right?', cause: error });
  return error;
}
