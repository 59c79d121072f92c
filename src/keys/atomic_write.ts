/**
 * Atomic writes of key files on a {@linkcode KeyFileSystem}, and the cleanup of what a killed
 * write leaves behind.
 *
 * - New files are created with `O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW` and their final mode
 *   (`0o600` for private keys), then `fchmod`ed to that mode through the open handle, whatever
 *   the umask: a private key is never readable by others, not even for a moment.
 * - Files are written to a fresh temporary name in the target directory, `fsync`ed, closed and
 *   renamed over the target: `rename` replaces a symbolic link at the target, it never follows
 *   it, and readers see the old file or the new one, never half of one.
 * - Temporary names are `.<name>.<pid>-<random>.tmp`; leftovers of a killed save are removed
 *   by {@linkcode removeStaleTemps} once their process is gone (`process.kill(pid, 0)`), else
 *   after {@linkcode STALE_TEMP_MILLIS}: when that cannot be told (Deno without `--allow-run`),
 *   or the process id may have been reused or belong to another machine sharing the directory.
 *   Removing the temporary file of a save still under way only makes that save fail (`"Io"`):
 *   its rename finds nothing, and no target is touched.
 *
 * On Windows there are no POSIX modes (files get the directory's ACL): modes are set as far as
 * Node maps them.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type { KeyError } from "../errors.ts";
import { tryIo } from "./file_errors.ts";
import { closeQuietly, type KeyFileHandle, type KeyFileSystem } from "./file_system.ts";

/** One file for {@linkcode writeFilesAtomically}. */
export interface FileToWrite {
  /** Where it goes. */
  readonly path: string;
  /** The contents (not modified; the caller zeroes secrets). */
  readonly bytes: Uint8Array;
  /** Its mode, set at creation and again with `fchmod` (`0o600` or `0o644`). */
  readonly mode: number;
}

/**
 * How old a leftover temporary file must be to be removed although its writer may still run
 * (its process id is alive, perhaps reused, or cannot be checked, or another machine shares
 * the directory, or the name carries no process id). A save holds its temporary files for
 * milliseconds; removing one under way only fails that save, it corrupts nothing.
 */
export const STALE_TEMP_MILLIS: number = 60 * 1000;

/**
 * Temporary file names: `.<target name>.<pid>-<16 hex>.tmp` (and `.<target name>.<16 hex>.tmp`
 * from versions before the pid was added).
 */
const TEMP_NAME = /^\.(?:private_key|public_key)\.pem\.(?:(\d{1,10})-)?[0-9a-f]{16}\.tmp$/;

/** The temporary names of one other file (`known_routers.json`): `.<name>.<pid>-<16 hex>.tmp`. */
const tempNameOf = (name: string): RegExp =>
  new RegExp(
    `^\\.${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.(\\d{1,10})-[0-9a-f]{16}\\.tmp$`,
  );

/** Temporary files this process is writing now (a crashed earlier process may have had its pid). */
const writing = new Set<string>();

/**
 * `byteCount` random bytes as lowercase hex: unique names for temporary files and tokens.
 *
 * @param byteCount How many random bytes.
 * @returns Twice as many hex digits.
 */
export const randomHex = (byteCount: number): string =>
  Array.from(
    crypto.getRandomValues(new Uint8Array(byteCount)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

/**
 * Writes `bytes` fully at the handle's position.
 *
 * @param h The open file.
 * @param bytes What to write.
 * @returns When every byte is written; a short write rejects with code `EIO`.
 */
export const writeAll = async (h: KeyFileHandle, bytes: Uint8Array): Promise<void> => {
  let offset = 0;
  while (offset < bytes.length) {
    const { bytesWritten } = await h.write(bytes, offset, bytes.length - offset, null);
    if (bytesWritten <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
    offset += bytesWritten;
  }
};

/** Creates, fills and syncs the temporary file of `file`; returns its path. */
const writeTemp = (
  fs: KeyFileSystem,
  file: FileToWrite,
  action: string,
): Effect.Effect<string, KeyError> => {
  const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
  const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
  const temp = fs.join(
    fs.dirname(file.path),
    `.${fs.basename(file.path)}.${fs.pid}-${randomHex(8)}.tmp`,
  );
  return Effect.acquireUseRelease(
    tryIo(
      action,
      file.path,
      () => fs.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, file.mode),
    ).pipe(Effect.tap(() => Effect.sync(() => writing.add(temp)))),
    (h) =>
      tryIo(action, file.path, async () => {
        // Explicit: the umask took bits off the mode given to open (or none, at umask 0).
        if (fs.platform !== "win32") await h.chmod(file.mode);
        await writeAll(h, file.bytes);
        await h.sync();
      }),
    // Only a file this call created is removed.
    (h, exit) =>
      Effect.zipRight(
        closeQuietly(h),
        exit._tag === "Success" ? Effect.void : Effect.promise(() => {
          writing.delete(temp);
          return fs.unlink(temp).catch(() => undefined);
        }),
      ),
  ).pipe(Effect.as(temp));
};

/** `fsync` of a directory, so the renames survive a crash; best effort (not on Windows). */
const syncDir = (fs: KeyFileSystem, dir: string): Effect.Effect<void> =>
  fs.platform === "win32" ? Effect.void : Effect.promise(async () => {
    try {
      const h = await fs.open(dir, fs.constants.O_RDONLY);
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    } catch {
      // Some file systems refuse to sync a directory; the data itself was synced.
    }
  });

/** Removes `paths`, ignoring failures. */
const unlinkAll = (fs: KeyFileSystem, paths: ReadonlyArray<string>): Effect.Effect<void> =>
  Effect.promise(() => Promise.all(paths.map((t) => fs.unlink(t).catch(() => undefined))));

/**
 * Writes each file to a new temporary file next to it (`O_EXCL`, its mode, `fchmod`, `fsync`),
 * then renames them over their targets in order and syncs the directories. On failure before
 * the renames, the temporary files are removed and no target changed; a rename that fails
 * removes the temporary files not renamed yet. Not interruptible once the renames begin.
 *
 * @param fs The file system.
 * @param files The files, in rename order (the commit point first).
 * @param action For messages: `"save key pair"`.
 * @returns When every file is in place; `"Io"` naming the path otherwise.
 */
export const writeFilesAtomically = (
  fs: KeyFileSystem,
  files: ReadonlyArray<FileToWrite>,
  action: string,
): Effect.Effect<void, KeyError> =>
  Effect.uninterruptibleMask((restore) => {
    const temps: string[] = [];
    return Effect.gen(function* () {
      yield* Effect.forEach(
        files,
        (file) => Effect.map(restore(writeTemp(fs, file, action)), (t) => void temps.push(t)),
        { discard: true },
      ).pipe(Effect.onError(() => unlinkAll(fs, temps)));
      // Renamed in order (private key first); a failure part way leaves a pair that
      // loadKeyPair reports as "Mismatch", not a half-written file.
      for (const [i, file] of files.entries()) {
        const temp = temps[i]!;
        yield* tryIo(action, file.path, () => fs.rename(temp, file.path)).pipe(
          Effect.onError(() => unlinkAll(fs, temps.slice(i))),
        );
      }
      const dirs = new Set(files.map((f) => fs.dirname(f.path)));
      yield* Effect.forEach(dirs, (dir) => syncDir(fs, dir), { discard: true });
    }).pipe(Effect.ensuring(Effect.sync(() => {
      for (const temp of temps) writing.delete(temp);
    })));
  });

/**
 * Removes the temporary files an interrupted save (a crash, a kill) left in `dir`: only
 * regular files named as {@linkcode writeFilesAtomically} names them, whose writer is gone
 * (see {@linkcode STALE_TEMP_MILLIS}). Best effort.
 *
 * @param fs The file system.
 * @param dir The key directory.
 * @param name Only the temporary files of this file name (default: the key files').
 * @returns How many files it removed; never fails.
 */
export const removeStaleTemps = (
  fs: KeyFileSystem,
  dir: string,
  name?: string,
): Effect.Effect<number> =>
  Effect.promise(async () => {
    const pattern = name === undefined ? TEMP_NAME : tempNameOf(name);
    let names: string[];
    try {
      names = await fs.readdir(dir);
    } catch {
      return 0;
    }
    let removed = 0;
    for (const entry of names) {
      const match = pattern.exec(entry);
      if (match === null) continue;
      const path = fs.join(dir, entry);
      try {
        // lstat: a symbolic link (never made by writeFilesAtomically) is left alone.
        const stats = await fs.lstat(path);
        if (!stats.isFile() || stats.isSymbolicLink()) continue;
        const pid = match[1] === undefined ? undefined : Number(match[1]);
        const writerGone = pid === fs.pid
          ? !writing.has(path)
          : pid !== undefined && fs.isProcessAlive(pid) === false;
        if (!writerGone && fs.now() - stats.mtimeMs < STALE_TEMP_MILLIS) continue;
        await fs.unlink(path);
        removed++;
      } catch {
        // Gone meanwhile (another process cleaned it, or its writer renamed it): fine.
      }
    }
    return removed;
  });
