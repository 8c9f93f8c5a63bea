/**
 * @module cli/commands/decrypt — `sealdrop decrypt -i KEY.sec.asc [-i OLD.sec.asc …] [--inbox DIR] [-o OUT_DIR] BUNDLE_DIR`:
 * decrypt a pulled bundle offline into the inbox (cli/inbox.ts), one submission at a time,
 * streaming, keeping nothing from a submission whose integrity check fails. With `-o OUT_DIR`
 * instead: plain folders OUT_DIR/<handle>/<day>_<id8>/, outside the inbox's conversations. Then
 * attribute each tip (cli/tip-attribution.ts): pin its source's key in the inbox only when the tip
 * is signed by the bundle's key for its handle, and say so loudly when it is not.
 */

import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseCommandArgs, stringOption, stringOptions } from '../args.ts';
import { readBundle, type Bundle } from '../bundle.ts';
import { warmSeipdReader } from '../seipd.ts';
import { CliError, printable, usageError } from '../errors.ts';
import { fileError, pathExists, resolvePath } from '../files.ts';
import { loadIdentities } from '../identities.ts';
import { addTip, ensureInbox, hasTip, setTipAttribution, tipDir, writePendingIndexes, type SourceIndex } from '../inbox.ts';
import { resolveInboxDir } from '../inbox-dir.ts';
import type { CliIo } from '../io.ts';
import { ProgressBar } from '../progress.ts';
import { decryptSubmission, STAGING_PREFIX, type SubmissionOutcome } from '../submission.ts';
import { formatTable } from '../table.ts';
import { attributeTips, bundleSourceKeys, usableKeys } from '../tip-attribution.ts';

export async function run(args: string[], io: CliIo): Promise<void> {
  const parsed = parseCommandArgs(
    'decrypt',
    args,
    { identity: { type: 'string', short: 'i', multiple: true }, output: { type: 'string', short: 'o' }, inbox: { type: 'string' } },
    { min: 1, max: 1, name: 'the BUNDLE_DIR written by "sealdrop pull"' },
  );
  const keyPaths = stringOptions(parsed, 'identity');
  if (keyPaths.length === 0) {
    throw usageError('decrypt: missing -i KEY.sec.asc', 'give the newsroom secret key: sealdrop decrypt -i newsroom.sec.asc BUNDLE_DIR');
  }
  const output = stringOption(parsed, 'output');
  // The inbox: its staging folders live at its top, on the same file system as the tips. With -o,
  // --inbox names only where the source keys are pinned.
  const inbox = output === undefined ? resolveInboxDir(stringOption(parsed, 'inbox'), io) : undefined;
  const outDir = inbox ?? resolvePath(io.cwd, output!);
  const bundle = await readBundleOrOne(resolvePath(io.cwd, parsed.positionals[0]!), parsed.positionals[0]!);
  if (bundle.submissions.length === 0) {
    io.stderr.write('sealdrop: the bundle holds no submissions\n');
    return;
  }
  warmSeipdReader(); // its worker starts while the passphrase unlocks the keys
  const identities = await loadIdentities(keyPaths, io);

  try {
    await mkdir(outDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw fileError(error, outDir, inbox ? 'inbox folder' : 'output folder');
  }
  if (inbox) await ensureInbox(inbox);
  await removeStaleStaging(outDir, io);

  const sourceKeys = await bundleSourceKeys(bundle);
  const progress = new ProgressBar(io.stderr, bundle.submissions.reduce((n, s) => n + s.size, 0));
  const outcomes: SubmissionOutcome[] = [];
  const claimed = new Map<string, string>();
  // The indexes this run changes, written once each at the end (a bundle brings several tips of a
  // source: one fsynced write per source, not per tip).
  const pending = new Map<string, SourceIndex>();
  let attributed: Awaited<ReturnType<typeof attributeTips>>;
  try {
    for (const [index, submission] of bundle.submissions.entries()) {
      progress.setLabel(`${index + 1}/${bundle.submissions.length} ${submission.handle}`);
      if (inbox && (await hasTip(inbox, submission.handle, submission.id, pending))) {
        progress.advance(submission.size);
        outcomes.push({ status: 'skipped', submission, path: tipDir(inbox, submission.handle, submission.id) });
        continue;
      }
      const outcome = await decryptSubmission({
        submission,
        bundleDir: bundle.dir,
        outDir,
        identities,
        claimed,
        sourceKeys: usableKeys(sourceKeys),
        onCiphertextBytes: (n) => progress.advance(n),
        ...(inbox ? { target: tipDir(inbox, submission.handle, submission.id), numberFiles: true } : {}),
      });
      // In the inbox a folder there but not in the index is a tip whose run stopped between the
      // two (the folder is renamed into place only once checked): it is indexed now.
      if (inbox && outcome.status !== 'failed') {
        await addTip(inbox, submission.handle, submission.id, submission.day, pending);
      }
      outcomes.push(outcome);
      if (outcome.status === 'failed') {
        progress.clear();
        // The reason may quote a hostile sender's file name or path: it reaches the terminal escaped.
        io.stderr.write(`sealdrop: error: submission ${submission.id.slice(0, 8)} from ${printable(submission.handle)}: ${printable(outcome.error)}\n`);
        io.stderr.write(`sealdrop: hint: ${printable(outcome.hint)}\n`);
      }
    }
    progress.clear();
    // Attributed before the indexes are written, so each tip's entry carries what its verified
    // signature showed in the same atomic write (a run stopped before leaves entries "not checked").
    attributed = await attributeTips(sourceKeys, outcomes, () => inbox ?? resolveInboxDir(stringOption(parsed, 'inbox'), io), io);
    if (inbox) {
      for (const [o, attribution] of attributed.attributions) await setTipAttribution(inbox, o.submission.handle, o.submission.id, attribution, pending);
    }
  } finally {
    progress.clear();
    if (inbox) await writePendingIndexes(inbox, pending);
  }
  const { problems: keyProblems, keyCells } = attributed;

  io.stdout.write(formatTable(
    ['HANDLE', 'KEY', 'DAY', 'ID', 'MESSAGE', 'FILES', 'STATUS'],
    outcomes.map((o) => [
      o.submission.handle,
      keyCells.get(o) ?? '-',
      o.submission.day,
      o.submission.id.slice(0, 8),
      o.status === 'ok' ? `${o.messageBytes} B` : '-',
      o.status === 'ok' ? String(o.files) : '-',
      o.status === 'ok' ? 'OK' : o.status === 'skipped' ? (inbox ? 'SKIPPED already in the inbox' : 'SKIPPED already decrypted') : `FAILED ${o.reason}`,
    ]),
  ));

  const failed = outcomes.filter((o) => o.status === 'failed').length;
  if (failed > 0) {
    throw new CliError(`${failed} of ${outcomes.length} submissions could not be decrypted`, {
      hint: 'see the errors above; nothing was kept from those submissions',
    });
  }
  if (keyProblems > 0) {
    throw new CliError(`${keyProblems} submission${keyProblems === 1 ? ' is' : 's are'} not shown to be from the source ${keyProblems === 1 ? 'it is' : 'they are'} filed under`, {
      hint: 'they were decrypted and kept (marked in their folders); see the errors above: the KEY column says which key signed each tip, "!" where it is disputed',
    });
  }
  const done = outcomes.filter((o) => o.status === 'ok').length;
  const skipped = outcomes.length - done;
  io.stderr.write(
    `sealdrop: decrypted ${done} submission${done === 1 ? '' : 's'} into ${inbox ? 'the inbox ' : ''}${printable(outDir)}` +
      (skipped > 0 ? ` (${skipped} already there, left as they were)` : '') + '\n',
  );
}

/**
 * The bundle folder, or one submission file of a bundle (`BUNDLE/submissions/ID.pgp`): then only
 * that submission, checked against the bundle.json beside it. A lone .pgp file outside a bundle has
 * no handle and no checksum to hold it to: the error says so and points at the gpg routine.
 */
async function readBundleOrOne(path: string, given: string): Promise<Bundle> {
  let info;
  try {
    info = await stat(path);
  } catch (error) {
    throw fileError(error, path, 'bundle folder');
  }
  if (info.isDirectory()) return readBundle(path);
  const bundleDir = dirname(dirname(path));
  const relative = `submissions/${basename(path)}`;
  const inBundle = basename(dirname(path)) === 'submissions' && (await pathExists(join(bundleDir, 'bundle.json')));
  if (inBundle) {
    const bundle = await readBundle(bundleDir);
    const submissions = bundle.submissions.filter((s) => s.path === relative);
    if (submissions.length === 1) return { ...bundle, submissions };
  }
  throw new CliError(`${printable(given)} is a file; decrypt takes the BUNDLE_DIR written by "sealdrop pull" (a folder with bundle.json)`, {
    hint: inBundle
      ? `the bundle.json of ${printable(bundleDir)} does not list ${printable(relative)}; give the folder: sealdrop decrypt -i KEY.sec.asc ${printable(bundleDir)}`
      : 'a file of a bundle\'s submissions/ folder is decrypted alone; for a lone .pgp file use GnuPG as the README shows (gpg --output x.tar --decrypt FILE.pgp, then tar into a new folder)',
  });
}

/**
 * A staging folder left behind can only come from a run that was killed mid-way: its content never
 * passed the integrity check, so it is deleted rather than left for someone to open.
 */
async function removeStaleStaging(outDir: string, io: CliIo): Promise<void> {
  for (const entry of await readdir(outDir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name.startsWith(STAGING_PREFIX)) {
      await rm(join(outDir, entry.name), { recursive: true, force: true });
      io.stderr.write(`sealdrop: removed ${printable(entry.name)}, left unchecked by an interrupted run\n`);
    }
  }
}
