/**
 * A lock file around a read-modify-write of a shared file (`known_routers.json`), on a
 * {@linkcode KeyFileSystem}, so that two processes recording at the same instant never lose
 * each other's entry.
 *
 * - The lock is `<file>.lock`, created with `O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW`, mode
 *   `0600`, holding a random token (and the holder's pid, for people looking at it). `O_EXCL`
 *   never follows a symbolic link, not even a dangling one: a link at the lock path is refused
 *   (`KeyError` `"InsecurePermissions"`), so is a directory or anything else that is not a
 *   regular file (`"Io"`); nothing is ever written through them, nor removed.
 * - It is a resource: removed however the work ends (success, failure, interruption), and only
 *   by its holder, which checks first that the file at the lock path is still its own (same
 *   inode, same token).
 * - A held lock is waited for with a short jittered backoff (5 ms doubling, at most 100 ms
 *   apart) for at most {@linkcode LOCK_WAIT_MILLIS}; then `KeyError` `"Io"` names the lock file.
 * - A lock not modified for {@linkcode STALE_LOCK_MILLIS} is stale (its holder crashed: a holder
 *   keeps it for milliseconds) and is taken over: it is renamed to a unique name, and removed
 *   only if the file renamed is the very one judged stale (same inode, mtime and size); else
 *   (another process took it over first and holds a fresh lock) it is linked back, never over a
 *   newer lock. A crash in between can leave a `.<file>.lock.<pid>-<hex>.stale` file behind:
 *   it locks nothing.
 *
 * @module
 */
import * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Schedule from "effect/Schedule";
import type * as Scope from "effect/Scope";
import { KeyError } from "../errors.ts";
import { randomHex, writeAll } from "./atomic_write.ts";
import { errorCode, ioError } from "./file_errors.ts";
import type { FileStats, KeyFileHandle, KeyFileSystem } from "./file_system.ts";

/** How long a held lock is waited for before `KeyError` `"Io"`: 2 seconds. */
export const LOCK_WAIT_MILLIS: number = 2_000;

/**
 * How old (by mtime) a lock must be to be taken over as stale: 30 seconds. A holder keeps the
 * lock for a read and an atomic write of a small file, milliseconds; only a crashed holder (or
 * a file system stalled for that long) leaves one older.
 */
export const STALE_LOCK_MILLIS: number = 30_000;

/** The lock file of `path`: `<path>.lock`. */
export const lockPathOf = (path: string): string => `${path}.lock`;

/** What the holder knows of its lock. */
interface Held {
  readonly ino: number;
  readonly token: string;
}

/** Another process holds the lock (or just released or broke it): try again. */
class LockBusy {
  readonly _tag = "LockBusy";
}

const TOKEN_BYTES = 64;

/** The waits between attempts: 5 ms doubling, at most 100 ms, jittered, for the bound. */
const retrySchedule = (waitMillis: number) =>
  Schedule.exponential("5 millis").pipe(
    Schedule.union(Schedule.spaced("100 millis")),
    Schedule.jittered,
    Schedule.upTo(Duration.millis(waitMillis)),
  );

/** `lstat`, `undefined` when nothing is there. */
const lstatOrNone = (fs: KeyFileSystem, path: string): Promise<FileStats | undefined> =>
  fs.lstat(path).catch((e) => {
    if (errorCode(e) === "ENOENT") return undefined;
    throw e;
  });

/** Reads at most {@linkcode TOKEN_BYTES} of the file at `path`, never through a link. */
const readToken = async (fs: KeyFileSystem, path: string): Promise<string> => {
  const h = await fs.open(path, fs.constants.O_RDONLY | (fs.constants.O_NOFOLLOW ?? 0));
  try {
    const buffer = new Uint8Array(TOKEN_BYTES);
    let length = 0;
    while (length < TOKEN_BYTES) {
      const { bytesRead } = await h.read(buffer, length, TOKEN_BYTES - length, null);
      if (bytesRead <= 0) break;
      length += bytesRead;
    }
    return new TextDecoder().decode(buffer.subarray(0, length));
  } finally {
    await h.close().catch(() => undefined);
  }
};

const sameFile = (a: FileStats, b: FileStats): boolean =>
  a.ino === b.ino && a.mtimeMs === b.mtimeMs && a.size === b.size && b.isFile() &&
  !b.isSymbolicLink();

/**
 * Takes over the stale lock `seen` at `lockPath`: renames it away, removes it when it is the one
 * judged stale, else puts it back (`link`, which never replaces a newer lock). Never fails.
 */
const breakStale = (fs: KeyFileSystem, lockPath: string, seen: FileStats): Promise<void> => {
  const aside = fs.join(
    fs.dirname(lockPath),
    `.${fs.basename(lockPath)}.${fs.pid}-${randomHex(8)}.stale`,
  );
  return (async () => {
    try {
      await fs.rename(lockPath, aside);
    } catch {
      return; // Gone meanwhile (released, or another process took it over): try again.
    }
    try {
      const moved = await fs.lstat(aside);
      if (!sameFile(seen, moved)) {
        // A fresh lock another process made after taking over the same stale one: back.
        await fs.link(aside, lockPath).catch(() => undefined);
      }
    } finally {
      await fs.unlink(aside).catch(() => undefined);
    }
  })();
};

/** One attempt: the lock, or `LockBusy`, or a `KeyError` that waiting does not mend. */
const tryLock = (
  fs: KeyFileSystem,
  lockPath: string,
  action: string,
): Effect.Effect<Held, KeyError | LockBusy> =>
  Effect.tryPromise({
    try: async (): Promise<Held | LockBusy | KeyError> => {
      const { O_WRONLY, O_CREAT, O_EXCL } = fs.constants;
      const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
      let handle: KeyFileHandle;
      try {
        handle = await fs.open(lockPath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
      } catch (e) {
        const code = errorCode(e);
        if (code !== "EEXIST" && code !== "ELOOP") return ioError(action, lockPath, e);
        const stats = await lstatOrNone(fs, lockPath);
        if (stats === undefined) return new LockBusy(); // Released meanwhile.
        if (stats.isSymbolicLink()) {
          return new KeyError({
            reason: "InsecurePermissions",
            message: `Cannot ${action}: the lock file ${lockPath} is a symbolic link; ` +
              "it is never followed, remove it",
          });
        }
        if (!stats.isFile()) {
          return new KeyError({
            reason: "Io",
            message: `Cannot ${action}: the lock file ${lockPath} is not a regular file; remove it`,
          });
        }
        if (fs.now() - stats.mtimeMs >= STALE_LOCK_MILLIS) await breakStale(fs, lockPath, stats);
        return new LockBusy();
      }
      const token = `${fs.pid} ${randomHex(16)}\n`;
      try {
        if (fs.platform !== "win32") await handle.chmod(0o600);
        await writeAll(handle, new TextEncoder().encode(token));
        const { ino } = await handle.stat();
        await handle.close();
        return { ino, token };
      } catch (e) {
        // Made by this call: removed, it locks nothing.
        await handle.close().catch(() => undefined);
        await fs.unlink(lockPath).catch(() => undefined);
        return ioError(action, lockPath, e);
      }
    },
    catch: (e) => ioError(action, lockPath, e),
  }).pipe(
    Effect.flatMap((r) =>
      r instanceof LockBusy || r instanceof KeyError ? Effect.fail(r) : Effect.succeed(r)
    ),
  );

/** Removes the lock if it is still ours (same inode and token); never fails. */
const unlock = (fs: KeyFileSystem, lockPath: string, held: Held): Effect.Effect<void> =>
  Effect.promise(async () => {
    try {
      const stats = await fs.lstat(lockPath);
      if (!stats.isFile() || stats.isSymbolicLink() || stats.ino !== held.ino) return;
      if ((await readToken(fs, lockPath)) !== held.token) return;
      await fs.unlink(lockPath);
    } catch {
      // Gone, or not ours any more (taken over as stale): left alone.
    }
  });

/**
 * Takes the lock of `path` (`<path>.lock`) in the scope: waits while another process holds it,
 * takes over a stale one, and removes it when the scope closes, if it is still ours.
 *
 * @param fs The file system.
 * @param path The file the lock protects (the lock is `<path>.lock`).
 * @param action For messages: `"record router key"`.
 * @param waitMillis How long to wait for a held lock (default {@linkcode LOCK_WAIT_MILLIS}).
 * @returns When the lock is ours; `KeyError` `"Io"` naming the lock file when it stayed held
 *   (or cannot be made), `"InsecurePermissions"` when it is a symbolic link.
 */
export const acquireFileLock = (
  fs: KeyFileSystem,
  path: string,
  action: string,
  waitMillis: number = LOCK_WAIT_MILLIS,
): Effect.Effect<void, KeyError, Scope.Scope> => {
  const lockPath = lockPathOf(path);
  // Each attempt is its own resource (acquired uninterruptibly); the waits between attempts
  // can be interrupted.
  return Effect.acquireRelease(
    tryLock(fs, lockPath, action),
    (held) => unlock(fs, lockPath, held),
  ).pipe(
    Effect.retry({
      schedule: retrySchedule(waitMillis),
      while: (e) => e instanceof LockBusy,
    }),
    Effect.catchIf(
      (e): e is LockBusy => e instanceof LockBusy,
      () =>
        Effect.fail(
          new KeyError({
            reason: "Io",
            message: `Cannot ${action}: the lock file ${lockPath} stayed held by another ` +
              `process for ${waitMillis} ms; it is taken over once ${
                STALE_LOCK_MILLIS / 1000
              } s old, or remove it if no process uses the file`,
          }),
        ),
    ),
    Effect.asVoid,
  );
};

/**
 * Runs `effect` holding the lock of `path` (see {@linkcode acquireFileLock}); the lock is
 * removed however `effect` ends.
 *
 * @param fs The file system.
 * @param path The file the lock protects.
 * @param action For messages.
 * @param effect The read-modify-write.
 * @param waitMillis How long to wait for a held lock.
 * @returns What `effect` gives, or its error, or the lock's `KeyError`.
 */
export const withFileLock = <A, E, R>(
  fs: KeyFileSystem,
  path: string,
  action: string,
  effect: Effect.Effect<A, E, R>,
  waitMillis: number = LOCK_WAIT_MILLIS,
): Effect.Effect<A, E | KeyError, R> =>
  Effect.scoped(Effect.zipRight(acquireFileLock(fs, path, action, waitMillis), effect));
