/**
 * The file system the key files are read from and written to, as a service: the few calls of
 * `node:fs/promises`, `node:path` and `node:process` they need, behind a tag, so that a test
 * can give `key_files.ts` a fake (a rename that fails, a disk that fills up, writes recorded).
 * The Node adapter is `node_file_system.ts` (Deno, Node 20+ and Bun all have `node:fs`); the
 * atomic writes and the temporary-file cleanup on top of it are `atomic_write.ts`, the checked
 * reads `file_access.ts`.
 *
 * `@effect/platform`'s `FileSystem` is not used: it has no `lstat`, no `O_NOFOLLOW` or `fchmod`,
 * and its Node layer lives in a package this library does not depend on.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";

/** What the key files read of a `stat` result. */
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

/** What the key files use of a `node:fs/promises` `FileHandle`. */
export interface KeyFileHandle {
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

/**
 * The file system of the key files: what they use of `node:fs/promises`, `node:path` and
 * `node:process`. Calls reject as `node:fs` does (an error with a `code` such as `ENOENT`).
 */
export interface KeyFileSystem {
  /** `process.platform` (`"win32"` turns the mode checks off). */
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
  open(path: string, flags: number, mode?: number): Promise<KeyFileHandle>;
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
  /** `fs.link`: a new name for a file; rejects with `EEXIST` rather than replace one. */
  link(existing: string, newPath: string): Promise<void>;
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

/**
 * Tag for {@linkcode KeyFileSystem}. The key files use the one in context when there is one,
 * else this runtime's `node:fs` (`KeyFileSystemLive`), so callers need not provide it.
 */
export const KeyFileSystem: Context.Tag<KeyFileSystem, KeyFileSystem> = Context.GenericTag<
  KeyFileSystem
>("@nomyo/client/KeyFileSystem");

/**
 * Closes a handle, ignoring failures (after `fsync`, or after reading).
 *
 * @param handle The open handle.
 * @returns An effect that never fails.
 */
export const closeQuietly = (handle: KeyFileHandle): Effect.Effect<void> =>
  Effect.promise(() => handle.close().catch(() => undefined));
