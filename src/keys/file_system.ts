/**
 * The file access of the key files, on `node:fs/promises` (Deno, Node 20+ and Bun all have it).
 *
 * `node:fs/promises`, `node:path` and `node:process` are imported with a dynamic `import()` on
 * first use, so importing the library in a browser works; there the first use fails with
 * `KeyError` `"Unavailable"` (keys stay in memory, `keyDir`/`loadKeys` need a file system).
 *
 * What this module guarantees:
 * - New files are created with `O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW` and their final mode
 *   (`0o600` for private keys), then `fchmod`ed to that mode through the open handle, whatever
 *   the umask: a private key is never readable by others, not even for a moment.
 * - Files are written to a fresh temporary name in the target directory, `fsync`ed, closed and
 *   renamed over the target: `rename` replaces a symbolic link at the target, it never follows
 *   it, and readers see the old file or the new one, never half of one.
 * - Temporary names are `.<name>.<pid>-<random>.tmp`; leftovers of a killed save are removed
 *   by `removeStaleTemps` once their process is gone (`process.kill(pid, 0)`), else after
 *   `STALE_TEMP_MILLIS`: when that cannot be told (Deno without `--allow-run`), or the process
 *   id may have been reused or belong to another machine sharing the directory. Removing the
 *   temporary file of a save still under way only makes that save fail (`"Io"`): its rename
 *   finds nothing, and no target is touched.
 * - Private key files are opened with `O_NOFOLLOW` (after an `lstat`), and the mode is checked on
 *   the open handle (`fstat`), so the file checked is the file read.
 * - Errors name the path and the failure (`ENOENT`, `EACCES`, …), never file contents, and carry
 *   no `cause`.
 *
 * On Windows there are no POSIX modes (files get the directory's ACL): modes are set as far as
 * Node maps them, and the group/others check is skipped.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { KeyError } from "../errors.ts";
import { wipe } from "../crypto/secure_bytes.ts";

/** What this module reads of a `stat` result. */
export interface FileStats {
  /** The mode bits, type included. */
  readonly mode: number;
  /** Whether it is a regular file. */
  isFile(): boolean;
  /** Whether it is a symbolic link (`lstat` only). */
  isSymbolicLink(): boolean;
  /** Last modification, in milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** The inode number (0 where the platform has none). */
  readonly ino: number;
  /** The size in bytes. */
  readonly size: number;
}

/** What this module uses of a `node:fs/promises` `FileHandle`. */
export interface FileHandleApi {
  /** `fchmod`. */
  chmod(mode: number): Promise<void>;
  /** `fstat`. */
  stat(): Promise<FileStats>;
  /** Reads at the current position. */
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: null,
  ): Promise<{ bytesRead: number }>;
  /** Writes at the current position. */
  write(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: null,
  ): Promise<{ bytesWritten: number }>;
  /** `fsync`. */
  sync(): Promise<void>;
  /** Closes the descriptor. */
  close(): Promise<void>;
}

/** What this module uses of `node:fs/promises`, `node:path` and `node:process`. */
export interface NodeFileApi {
  /** `process.platform` (`"win32"` turns the mode check off). */
  readonly platform: string;
  /** `process.pid`: written into temporary file names. */
  readonly pid: number;
  /**
   * Whether a process with this id runs on this machine (`process.kill(pid, 0)`); `undefined`
   * when that cannot be told (Deno without `--allow-run`).
   */
  isProcessAlive(pid: number): boolean | undefined;
  /** `Date.now()`. */
  now(): number;
  /** The `O_*` flags; `O_NOFOLLOW` and `O_NONBLOCK` are missing on Windows. */
  readonly constants: {
    readonly O_RDONLY: number;
    readonly O_WRONLY: number;
    readonly O_CREAT: number;
    readonly O_EXCL: number;
    readonly O_NOFOLLOW?: number | undefined;
    readonly O_NONBLOCK?: number | undefined;
  };
  /** `fs.open`. */
  open(path: string, flags: number, mode?: number): Promise<FileHandleApi>;
  /** `fs.lstat`. */
  lstat(path: string): Promise<FileStats>;
  /** `fs.mkdir`; resolves to the first directory created, if any. */
  mkdir(
    path: string,
    options: { recursive: true; mode: number },
  ): Promise<string | undefined>;
  /** `fs.chmod`. */
  chmod(path: string, mode: number): Promise<void>;
  /** `fs.rename`. */
  rename(from: string, to: string): Promise<void>;
  /** `fs.unlink`. */
  unlink(path: string): Promise<void>;
  /** `fs.readdir`: the names in a directory. */
  readdir(path: string): Promise<string[]>;
  /** `path.join`. */
  join(...parts: string[]): string;
  /** `path.dirname`. */
  dirname(path: string): string;
  /** `path.basename`. */
  basename(path: string): string;
}

/** The message of `"Unavailable"`: no file system in this runtime. */
export const UNAVAILABLE_MESSAGE =
  "Cannot access key files: this runtime has no file system (node:fs); in browsers keys stay in memory, and keyDir/loadKeys need Deno, Node or Bun";

/** Imports the real file API (rejects in browsers). */
export const importNodeFileApi = async (): Promise<NodeFileApi> => {
  const [fs, path, process] = await Promise.all([
    import("node:fs/promises"),
    import("node:path"),
    import("node:process"),
  ]);
  return {
    platform: process.platform,
    pid: process.pid,
    isProcessAlive: (pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch (e) {
        const code = errorCode(e);
        // EPERM: it exists, owned by someone else; anything else (Deno's NotCapable): unknown.
        return code === "ESRCH" ? false : code === "EPERM" ? true : undefined;
      }
    },
    now: () => Date.now(),
    constants: fs.constants,
    open: (p, flags, mode) => fs.open(p, flags, mode),
    lstat: (p) => fs.lstat(p),
    mkdir: (p, options) => fs.mkdir(p, options),
    chmod: (p, mode) => fs.chmod(p, mode),
    rename: (from, to) => fs.rename(from, to),
    unlink: (p) => fs.unlink(p),
    readdir: (p) => fs.readdir(p),
    join: (...parts) => path.join(...parts),
    dirname: (p) => path.dirname(p),
    basename: (p) => path.basename(p),
  };
};

/** One file for {@linkcode KeyFileSystem.writeFiles}. */
export interface FileToWrite {
  /** Where it goes. */
  readonly path: string;
  /** The contents (not modified; the caller zeroes secrets). */
  readonly bytes: Uint8Array;
  /** Its mode, set at creation and again with `fchmod` (`0o600` or `0o644`). */
  readonly mode: number;
}

/** Options of {@linkcode KeyFileSystem.readFile}. */
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

/** The operations on key files, failing with `KeyError` `"Io"` or `"InsecurePermissions"`. */
export interface KeyFileSystem {
  /** `"win32"`, `"linux"`, … */
  readonly platform: string;
  /** `path.join`. */
  readonly join: (...parts: string[]) => string;
  /** Whether anything (a file, a link, even a dangling one, a directory) is at `path`. */
  readonly exists: (path: string, action: string) => Effect.Effect<boolean, KeyError>;
  /** Creates `dir` (and its parents) with mode `0o700` when missing; an existing one is left as is. */
  readonly makeDir: (dir: string, action: string) => Effect.Effect<void, KeyError>;
  /**
   * Writes each file to a new temporary file next to it (`O_EXCL`, its mode, `fchmod`, `fsync`),
   * then renames them over their targets in order and syncs the directories. On failure before
   * the renames, the temporary files are removed and no target changed.
   */
  readonly writeFiles: (
    files: ReadonlyArray<FileToWrite>,
    action: string,
  ) => Effect.Effect<void, KeyError>;
  /**
   * Removes the temporary files an interrupted save (a crash, a kill) left in `dir`: only
   * regular files named as {@linkcode KeyFileSystem.writeFiles} names them, whose writer is
   * gone (see {@linkcode STALE_TEMP_MILLIS}). Best effort: never fails, returns how many it
   * removed.
   */
  readonly removeStaleTemps: (dir: string) => Effect.Effect<number>;
  /** `lstat`, for noticing that a file changed meanwhile. */
  readonly stat: (path: string, action: string) => Effect.Effect<FileStats, KeyError>;
  /**
   * Reads a file into a fresh buffer (zeroed on failure; the caller zeroes it after use).
   * Refuses anything but a regular file, and applies {@linkcode ReadFileOptions.private}.
   */
  readonly readFile: (
    path: string,
    options: ReadFileOptions,
  ) => Effect.Effect<Uint8Array<ArrayBuffer>, KeyError>;
}

const errorCode = (e: unknown): string | undefined => {
  if (typeof e !== "object" || e === null) return undefined;
  const { code, name } = e as { code?: unknown; name?: unknown };
  if (typeof code === "string") return code;
  // Deno's permission errors carry no code.
  if (name === "NotCapable" || name === "PermissionDenied") return "EACCES";
  return typeof name === "string" ? name : undefined;
};

const DETAILS: ReadonlyMap<string, string> = new Map([
  ["ENOENT", "no such file or directory"],
  ["EACCES", "permission denied"],
  ["EPERM", "operation not permitted"],
  ["EISDIR", "is a directory"],
  ["ENOTDIR", "a part of the path is not a directory"],
  ["ENOSPC", "no space left on device"],
  ["EDQUOT", "disk quota exceeded"],
  ["EROFS", "read-only file system"],
  ["EEXIST", "already exists"],
  ["ENAMETOOLONG", "name too long"],
  ["EMFILE", "too many open files"],
  ["EIO", "input/output error"],
]);

/** `"Io"` naming the path and the failure, never anything read. */
const ioError = (action: string, path: string, e: unknown): KeyError => {
  const code = errorCode(e);
  const detail = code === undefined ? "file system error" : DETAILS.get(code) ?? code;
  return new KeyError({ reason: "Io", message: `Cannot ${action}: ${path}: ${detail}` });
};

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

const tryIo = <A>(action: string, path: string, f: () => Promise<A>): Effect.Effect<A, KeyError> =>
  Effect.tryPromise({ try: f, catch: (e) => ioError(action, path, e) });

/** Closes a handle, ignoring failures (after `fsync`, or after reading). */
const closeQuietly = (h: FileHandleApi): Effect.Effect<void> =>
  Effect.promise(() => h.close().catch(() => undefined));

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

/** Temporary files this process is writing now (a crashed earlier process may have had its pid). */
const writing = new Set<string>();

const randomSuffix = (): string =>
  Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, "0"))
    .join("");

/**
 * Builds the operations on a file API.
 *
 * @param api `node:fs/promises` and friends (or a test double).
 * @returns The operations.
 */
export const makeKeyFileSystem = (api: NodeFileApi): KeyFileSystem => {
  const windows = api.platform === "win32";
  const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL } = api.constants;
  const O_NOFOLLOW = api.constants.O_NOFOLLOW ?? 0;
  // A FIFO at the path must not block the open; harmless on regular files.
  const O_NONBLOCK = api.constants.O_NONBLOCK ?? 0;

  const exists = (path: string, action: string): Effect.Effect<boolean, KeyError> =>
    Effect.tryPromise({
      try: () => api.lstat(path).then(() => true),
      catch: (e) => e,
    }).pipe(
      Effect.catchAll((e) =>
        errorCode(e) === "ENOENT" ? Effect.succeed(false) : Effect.fail(ioError(action, path, e))
      ),
    );

  const makeDir = (dir: string, action: string): Effect.Effect<void, KeyError> =>
    Effect.gen(function* () {
      const created = yield* tryIo(
        action,
        dir,
        () => api.mkdir(dir, { recursive: true, mode: 0o700 }),
      );
      // The umask may have taken bits off (or, at 0, left 0o700 as asked): set it explicitly.
      if (created !== undefined && !windows) {
        yield* tryIo(action, dir, () => api.chmod(dir, 0o700));
      }
    });

  /** Writes `bytes` fully at the handle's position. */
  const writeAll = async (h: FileHandleApi, bytes: Uint8Array): Promise<void> => {
    let offset = 0;
    while (offset < bytes.length) {
      const { bytesWritten } = await h.write(bytes, offset, bytes.length - offset, null);
      if (bytesWritten <= 0) throw Object.assign(new Error("short write"), { code: "EIO" });
      offset += bytesWritten;
    }
  };

  /** Creates, fills and syncs the temporary file of `file`; returns its path. */
  const writeTemp = (file: FileToWrite, action: string): Effect.Effect<string, KeyError> => {
    const temp = api.join(
      api.dirname(file.path),
      `.${api.basename(file.path)}.${api.pid}-${randomSuffix()}.tmp`,
    );
    return Effect.acquireUseRelease(
      tryIo(
        action,
        file.path,
        () => api.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, file.mode),
      ).pipe(Effect.tap(() => Effect.sync(() => writing.add(temp)))),
      (h) =>
        tryIo(action, file.path, async () => {
          // Explicit: the umask took bits off the mode given to open (or none, at umask 0).
          if (!windows) await h.chmod(file.mode);
          await writeAll(h, file.bytes);
          await h.sync();
        }),
      // Only a file this call created is removed.
      (h, exit) =>
        Effect.zipRight(
          closeQuietly(h),
          exit._tag === "Success" ? Effect.void : Effect.promise(() => {
            writing.delete(temp);
            return api.unlink(temp).catch(() => undefined);
          }),
        ),
    ).pipe(Effect.as(temp));
  };

  /** `fsync` of a directory, so the renames survive a crash; best effort (not on Windows). */
  const syncDir = (dir: string): Effect.Effect<void> =>
    windows ? Effect.void : Effect.promise(async () => {
      try {
        const h = await api.open(dir, O_RDONLY);
        try {
          await h.sync();
        } finally {
          await h.close();
        }
      } catch {
        // Some file systems refuse to sync a directory; the data itself was synced.
      }
    });

  const writeFiles = (
    files: ReadonlyArray<FileToWrite>,
    action: string,
  ): Effect.Effect<void, KeyError> =>
    Effect.uninterruptibleMask((restore) => {
      const temps: string[] = [];
      return Effect.gen(function* () {
        const removeTemps = Effect.promise(() =>
          Promise.all(temps.map((t) => api.unlink(t).catch(() => undefined)))
        );
        yield* Effect.forEach(
          files,
          (file) => Effect.map(restore(writeTemp(file, action)), (t) => void temps.push(t)),
          { discard: true },
        ).pipe(Effect.onError(() => removeTemps));
        // Renamed in order (private key first); a failure part way leaves a pair that
        // loadKeyPair reports as "Mismatch", not a half-written file.
        for (const [i, file] of files.entries()) {
          const temp = temps[i]!;
          yield* tryIo(action, file.path, () => api.rename(temp, file.path)).pipe(
            Effect.onError(() => {
              const left = temps.slice(i);
              return Effect.promise(() =>
                Promise.all(left.map((t) => api.unlink(t).catch(() => undefined)))
              );
            }),
          );
        }
        const dirs = new Set(files.map((f) => api.dirname(f.path)));
        yield* Effect.forEach(dirs, syncDir, { discard: true });
      }).pipe(Effect.ensuring(Effect.sync(() => {
        for (const temp of temps) writing.delete(temp);
      })));
    });

  const removeStaleTemps = (dir: string): Effect.Effect<number> =>
    Effect.promise(async () => {
      let names: string[];
      try {
        names = await api.readdir(dir);
      } catch {
        return 0;
      }
      let removed = 0;
      for (const name of names) {
        const match = TEMP_NAME.exec(name);
        if (match === null) continue;
        const path = api.join(dir, name);
        try {
          // lstat: a symbolic link (never made by writeFiles) is left alone, never followed.
          const stats = await api.lstat(path);
          if (!stats.isFile() || stats.isSymbolicLink()) continue;
          const pid = match[1] === undefined ? undefined : Number(match[1]);
          const writerGone = pid === api.pid
            ? !writing.has(path)
            : pid !== undefined && api.isProcessAlive(pid) === false;
          if (!writerGone && api.now() - stats.mtimeMs < STALE_TEMP_MILLIS) continue;
          await api.unlink(path);
          removed++;
        } catch {
          // Gone meanwhile (another process cleaned it, or its writer renamed it): fine.
        }
      }
      return removed;
    });

  const readFile = (
    path: string,
    options: ReadFileOptions,
  ): Effect.Effect<Uint8Array<ArrayBuffer>, KeyError> => {
    const { action } = options;
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
    const flags = O_RDONLY | O_NONBLOCK | (options.private ? O_NOFOLLOW : 0);
    return Effect.gen(function* () {
      if (options.private) {
        // A clear message for a link; O_NOFOLLOW below closes the race.
        const linkStats = yield* tryIo(action, path, () => api.lstat(path));
        if (linkStats.isSymbolicLink()) return yield* Effect.fail(symlinkError(action, path));
      }
      return yield* Effect.acquireUseRelease(
        Effect.tryPromise({
          try: () => api.open(path, flags),
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
            // A view: the bytes past `length` were never written, so zeroing the view
            // zeroes everything that was read.
            return buffer.subarray(0, length);
          }),
        closeQuietly,
      );
    });
  };

  return {
    platform: api.platform,
    join: (...parts) => api.join(...parts),
    exists,
    makeDir,
    writeFiles,
    removeStaleTemps,
    stat: (path, action) => tryIo(action, path, () => api.lstat(path)),
    readFile,
  };
};

/**
 * Loads the file system once per importer; `"Unavailable"` when the import fails.
 *
 * @param importer The import (default: `node:fs/promises`, `node:path`, `node:process`).
 * @returns An effect giving the file system, importing it on first run only.
 */
export const makeFileSystemLoader = (
  importer: () => Promise<NodeFileApi> = importNodeFileApi,
): Effect.Effect<KeyFileSystem, KeyError> => {
  let loaded: Promise<KeyFileSystem> | undefined;
  return Effect.tryPromise({
    try: () => (loaded ??= importer().then(makeKeyFileSystem)),
    catch: () => new KeyError({ reason: "Unavailable", message: UNAVAILABLE_MESSAGE }),
  });
};

/** The file system of this runtime, imported on first use. */
export const keyFileSystem: Effect.Effect<KeyFileSystem, KeyError> = makeFileSystemLoader();

/** Whether the once-per-process warning about an unencrypted private key was printed. */
export const plainKeyWarning: { warned: boolean } = { warned: false };

/**
 * Warns once per process that a private key was saved without a password.
 *
 * @param path Where it was saved.
 */
export const warnPlainKeyOnce = (path: string): void => {
  if (plainKeyWarning.warned) return;
  plainKeyWarning.warned = true;
  console.warn(
    `[@nomyo/client] WARNING: the private key was saved unencrypted to ${path} (mode 0600). ` +
      "Anyone who can read the file can decrypt your responses; pass a password to encrypt it.",
  );
};
