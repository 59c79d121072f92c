/**
 * The checked reads and the directory operations of key files on a {@linkcode KeyFileSystem}.
 *
 * - Private key files are opened with `O_NOFOLLOW` (after an `lstat`, for a clear message),
 *   and the mode is checked on the open handle (`fstat`), so the file checked is the file read.
 * - A private key that group or others can access is refused (`"InsecurePermissions"`, the
 *   message says `chmod 600 <path>`), except on Windows, which has no POSIX modes.
 * - Errors name the path and the failure, never file contents (`file_errors.ts`).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { KeyError } from "../errors.ts";
import { wipe } from "../crypto/secure_bytes.ts";
import { errorCode, ioError, tryIo } from "./file_errors.ts";
import { closeQuietly, type FileStats, type KeyFileSystem } from "./file_system.ts";

/** Options of {@linkcode readKeyFile}. */
export interface ReadFileOptions {
  /**
   * A private key: refuse a symbolic link (`lstat`, then `O_NOFOLLOW`) and, except on Windows,
   * a mode with any group/others bit (`"InsecurePermissions"`).
   */
  readonly private: boolean;
  /** Reads at most this many bytes plus one (so the caller sees the file is too long). */
  readonly maxBytes: number;
  /** For messages: `"load private key"`. */
  readonly action: string;
}

const symlinkError = (action: string, path: string): KeyError =>
  new KeyError({
    reason: "InsecurePermissions",
    message:
      `Cannot ${action}: ${path} is a symbolic link; private key files must be regular files, give the path of the file itself`,
  });

/** Quotes a path for a shell command in a message (POSIX only: Windows skips the check). */
const shellQuote = (path: string): string =>
  /^[A-Za-z0-9_./:@%+=,-]+$/.test(path) ? path : `'${path.replaceAll("'", `'\\''`)}'`;

const octal = (mode: number): string => (mode & 0o777).toString(8).padStart(4, "0");

/**
 * Whether anything (a file, a link, even a dangling one, a directory) is at `path`.
 *
 * @param fs The file system.
 * @param path The path.
 * @param action For messages.
 * @returns Whether it exists; `"Io"` when that cannot be told.
 */
export const pathExists = (
  fs: KeyFileSystem,
  path: string,
  action: string,
): Effect.Effect<boolean, KeyError> =>
  Effect.tryPromise({ try: () => fs.lstat(path).then(() => true), catch: (e) => e }).pipe(
    Effect.catchAll((e) =>
      errorCode(e) === "ENOENT" ? Effect.succeed(false) : Effect.fail(ioError(action, path, e))
    ),
  );

/**
 * Creates `dir` (and its parents) with mode `0o700` when missing; an existing one is left as is.
 *
 * @param fs The file system.
 * @param dir The directory.
 * @param action For messages.
 * @returns When it exists; `"Io"` otherwise.
 */
export const makeKeyDir = (
  fs: KeyFileSystem,
  dir: string,
  action: string,
): Effect.Effect<void, KeyError> =>
  Effect.gen(function* () {
    const created = yield* tryIo(
      action,
      dir,
      () => fs.mkdir(dir, { recursive: true, mode: 0o700 }),
    );
    // The umask may have taken bits off (or, at 0, left 0o700 as asked): set it explicitly.
    if (created !== undefined && fs.platform !== "win32") {
      yield* tryIo(action, dir, () => fs.chmod(dir, 0o700));
    }
  });

/**
 * `lstat`, for noticing that a file changed meanwhile.
 *
 * @param fs The file system.
 * @param path The path.
 * @param action For messages.
 * @returns Its stats; `"Io"` otherwise.
 */
export const statPath = (
  fs: KeyFileSystem,
  path: string,
  action: string,
): Effect.Effect<FileStats, KeyError> => tryIo(action, path, () => fs.lstat(path));

/**
 * Reads a key file into a fresh buffer (zeroed on failure; the caller zeroes it after use).
 * Refuses anything but a regular file, and applies {@linkcode ReadFileOptions.private}.
 *
 * @param fs The file system.
 * @param path The file.
 * @param options Private or not, the size cap, the action for messages.
 * @returns The bytes read (at most `maxBytes + 1`); `"Io"` or `"InsecurePermissions"`.
 */
export const readKeyFile = (
  fs: KeyFileSystem,
  path: string,
  options: ReadFileOptions,
): Effect.Effect<Uint8Array<ArrayBuffer>, KeyError> => {
  const { action } = options;
  const windows = fs.platform === "win32";
  const check = (stats: FileStats): KeyError | undefined => {
    if (options.private && stats.isSymbolicLink()) return symlinkError(action, path);
    if (!stats.isFile()) {
      return new KeyError({
        reason: "Io",
        message: `Cannot ${action}: ${path}: not a regular file`,
      });
    }
    if (options.private && !windows && (stats.mode & 0o077) !== 0) {
      return new KeyError({
        reason: "InsecurePermissions",
        message: `Cannot ${action}: ${path} can be accessed by group or others (mode ${
          octal(stats.mode)
        }); restrict it with: chmod 600 ${shellQuote(path)}`,
      });
    }
    return undefined;
  };
  // A FIFO at the path must not block the open; harmless on regular files.
  const flags = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0) |
    (options.private ? fs.constants.O_NOFOLLOW ?? 0 : 0);
  return Effect.gen(function* () {
    if (options.private) {
      // A clear message for a link; O_NOFOLLOW below closes the race.
      const linkStats = yield* tryIo(action, path, () => fs.lstat(path));
      if (linkStats.isSymbolicLink()) return yield* Effect.fail(symlinkError(action, path));
    }
    return yield* Effect.acquireUseRelease(
      Effect.tryPromise({
        try: () => fs.open(path, flags),
        catch: (e) =>
          options.private && errorCode(e) === "ELOOP"
            ? symlinkError(action, path)
            : ioError(action, path, e),
      }),
      (h) =>
        Effect.gen(function* () {
          // Checked on the open descriptor: the file checked is the file read.
          const problem = check(yield* tryIo(action, path, () => h.stat()));
          if (problem !== undefined) return yield* Effect.fail(problem);
          const buffer = new Uint8Array(options.maxBytes + 1);
          const length = yield* tryIo(action, path, async () => {
            let n = 0;
            while (n < buffer.length) {
              const { bytesRead } = await h.read(buffer, n, buffer.length - n, null);
              if (bytesRead === 0) break;
              n += bytesRead;
            }
            return n;
          }).pipe(Effect.onError(() => Effect.sync(() => wipe(buffer))));
          // A view: the bytes past `length` were never written, so zeroing the view zeroes
          // everything that was read.
          return buffer.subarray(0, length);
        }),
      closeQuietly,
    );
  });
};
