/** @module cli/bundle — read and check a bundle folder written by `sealdrop pull`. */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CliError } from './errors.ts';
import { fileError } from './files.ts';
import { BUNDLE_VERSION, type BundleSource, type BundleSubmission } from '../protocol/bundle.ts';

export type { BundleSource, BundleSubmission } from '../protocol/bundle.ts';

export interface Bundle {
  dir: string;
  submissions: BundleSubmission[];
  sources: BundleSource[];
}

// The bundle comes from the server, which is trusted with ciphertext but not with our file system:
// everything that becomes part of a path is held to a strict shape here.
const ID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const HANDLE_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+){0,3}$/;
const HANDLE_MAX_LENGTH = 64;
const DAY_PATTERN = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;

export function isValidHandle(handle: unknown): handle is string {
  return typeof handle === 'string' && handle.length <= HANDLE_MAX_LENGTH && HANDLE_PATTERN.test(handle);
}

/** Reads `DIR/bundle.json` and checks every field the CLI relies on. */
export async function readBundle(dir: string): Promise<Bundle> {
  const path = join(dir, 'bundle.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') {
      throw new CliError(`${dir} is not a bundle folder: it has no bundle.json`, {
        hint: 'give the folder written by "sealdrop pull -o DIR"',
        cause: error,
      });
    }
    throw fileError(error, path, 'bundle file');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw bundleError(`bundle.json is not valid JSON`, error);
  }
  return { dir, ...checkBundleJson(json) };
}

export const DESK_PATTERN = /^[a-z0-9][a-z0-9-]{0,31}$/;

export function checkBundleJson(json: unknown): Omit<Bundle, 'dir'> {
  if (!isRecord(json)) throw bundleError('bundle.json is not a JSON object');
  if (json.version !== BUNDLE_VERSION) throw bundleError(`bundle.json has version ${JSON.stringify(json.version)}, expected ${BUNDLE_VERSION}`);
  if (!Array.isArray(json.submissions)) throw bundleError('bundle.json has no "submissions" list');
  if (!Array.isArray(json.sources)) throw bundleError('bundle.json has no "sources" list');
  const ids = new Set<string>();
  const submissions = json.submissions.map((entry, index): BundleSubmission => {
    const where = `submissions[${index}]`;
    if (!isRecord(entry)) throw bundleError(`${where} is not an object`);
    const { id, handle, day, size, sha256, path, desk } = entry;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) throw bundleError(`${where}.id is not a lower-case UUID`);
    if (ids.has(id)) throw bundleError(`${where}.id ${id} appears twice`);
    ids.add(id);
    if (!isValidHandle(handle)) throw bundleError(`${where}.handle is not a valid handle`);
    if (typeof day !== 'string' || !DAY_PATTERN.test(day)) throw bundleError(`${where}.day is not a YYYY-MM-DD date`);
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0) throw bundleError(`${where}.size is not a positive integer`);
    if (typeof sha256 !== 'string' || !SHA256_PATTERN.test(sha256)) throw bundleError(`${where}.sha256 is not 64 lower-case hex digits`);
    if (path !== `submissions/${id}.pgp`) throw bundleError(`${where}.path must be "submissions/${id}.pgp"`);
    // the desk it was sent to (servers before desks name none: the one desk)
    if (desk !== undefined && (typeof desk !== 'string' || !DESK_PATTERN.test(desk))) throw bundleError(`${where}.desk is not a desk id`);
    return { id, handle, day, size, sha256, path, ...(desk === undefined ? {} : { desk }) };
  });
  const handles = new Set<string>();
  const sources = json.sources.map((entry, index): BundleSource => {
    const where = `sources[${index}]`;
    if (!isRecord(entry)) throw bundleError(`${where} is not an object`);
    const { handle, path } = entry;
    if (!isValidHandle(handle)) throw bundleError(`${where}.handle is not a valid handle`);
    if (handles.has(handle)) throw bundleError(`${where}.handle ${handle} appears twice`);
    handles.add(handle);
    if (path !== `sources/${handle}.asc`) throw bundleError(`${where}.path must be "sources/${handle}.asc"`);
    return { handle, path };
  });
  return { submissions, sources };
}

function bundleError(message: string, cause?: unknown): CliError {
  return new CliError(message, {
    hint: 'the bundle is damaged or was not written by "sealdrop pull"; pull it again',
    cause,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
