/**
 * An in-memory {@linkcode KeyFileSystem} for the lock tests: files, directories and symbolic
 * links with inodes and mtimes, `O_CREAT | O_EXCL` and `O_NOFOLLOW` as POSIX has them, a clock
 * the test sets (`now`), every `open` recorded, and hooks to play another process.
 */
import type { FileStats, KeyFileHandle, KeyFileSystem } from "../../src/keys/file_system.ts";

/** One entry. */
export interface MemNode {
  kind: "file" | "dir" | "symlink";
  bytes: Uint8Array;
  ino: number;
  mtimeMs: number;
  mode: number;
  /** For a symbolic link: where it points. */
  target?: string;
}

const O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0o100, O_EXCL = 0o200, O_NOFOLLOW = 0o400000;

const fail = (code: string): Error => Object.assign(new Error(code), { code });

/** The fake, with its state open to the test. */
export interface MemFileSystem extends KeyFileSystem {
  readonly nodes: Map<string, MemNode>;
  /** The clock `now()` reads (milliseconds). */
  clock: number;
  /** Every `open`: path, flags, mode. */
  readonly opens: Array<{ path: string; flags: number; mode: number | undefined }>;
  /** Runs before every `rename` (to play a second process). */
  beforeRename?: ((from: string, to: string) => void) | undefined;
  /** Makes a file (or another kind) at `path`. */
  put(path: string, node: Partial<MemNode> & { kind?: MemNode["kind"] }): MemNode;
  /** The text of the file at `path`. */
  text(path: string): string | undefined;
}

/**
 * Makes the fake.
 *
 * @returns An empty file system whose clock is at 1,000,000 ms.
 */
export const memFileSystem = (): MemFileSystem => {
  const nodes = new Map<string, MemNode>();
  let nextIno = 100;
  const stats = (n: MemNode): FileStats => ({
    mode: (n.kind === "file" ? 0o100000 : n.kind === "dir" ? 0o040000 : 0o120000) | n.mode,
    isFile: () => n.kind === "file",
    isSymbolicLink: () => n.kind === "symlink",
    mtimeMs: n.mtimeMs,
    ino: n.ino,
    size: n.bytes.length,
  });
  const handleOf = (n: MemNode): KeyFileHandle => {
    let position = 0;
    return {
      chmod: (mode) => Promise.resolve(void (n.mode = mode & 0o777)),
      stat: () => Promise.resolve(stats(n)),
      read: (buffer, offset, length) => {
        const chunk = n.bytes.subarray(position, position + length);
        buffer.set(chunk, offset);
        position += chunk.length;
        return Promise.resolve({ bytesRead: chunk.length });
      },
      write: (buffer, offset, length) => {
        if (n.kind !== "file") return Promise.reject(fail("EISDIR"));
        const chunk = buffer.subarray(offset, offset + length);
        const grown = new Uint8Array(Math.max(n.bytes.length, position + chunk.length));
        grown.set(n.bytes);
        grown.set(chunk, position);
        n.bytes = grown;
        position += chunk.length;
        n.mtimeMs = fs.clock;
        return Promise.resolve({ bytesWritten: chunk.length });
      },
      sync: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  };
  const fs: MemFileSystem = {
    nodes,
    clock: 1_000_000,
    opens: [],
    platform: "linux",
    pid: 4242,
    isProcessAlive: () => undefined,
    now: () => fs.clock,
    constants: { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW },
    put: (path, node) => {
      const made: MemNode = {
        kind: "file",
        bytes: new Uint8Array(),
        ino: nextIno++,
        mtimeMs: fs.clock,
        mode: 0o600,
        ...node,
      };
      nodes.set(path, made);
      return made;
    },
    text: (path) => {
      const n = nodes.get(path);
      return n === undefined ? undefined : new TextDecoder().decode(n.bytes);
    },
    open: (path, flags, mode) => {
      fs.opens.push({ path, flags, mode });
      let n = nodes.get(path);
      if ((flags & O_CREAT) && (flags & O_EXCL)) {
        // POSIX: O_EXCL fails on anything there, a symbolic link (even dangling) included.
        if (n !== undefined) return Promise.reject(fail("EEXIST"));
        return Promise.resolve(handleOf(fs.put(path, { mode: (mode ?? 0o666) & 0o777 })));
      }
      if (n?.kind === "symlink") {
        if (flags & O_NOFOLLOW) return Promise.reject(fail("ELOOP"));
        n = nodes.get(n.target ?? "");
      }
      if (n === undefined) return Promise.reject(fail("ENOENT"));
      return Promise.resolve(handleOf(n));
    },
    lstat: (path) => {
      const n = nodes.get(path);
      return n === undefined ? Promise.reject(fail("ENOENT")) : Promise.resolve(stats(n));
    },
    mkdir: (path) => {
      if (nodes.has(path)) return Promise.resolve(undefined);
      fs.put(path, { kind: "dir", mode: 0o700 });
      return Promise.resolve(path);
    },
    chmod: (path, mode) => {
      const n = nodes.get(path);
      if (n === undefined) return Promise.reject(fail("ENOENT"));
      n.mode = mode & 0o777;
      return Promise.resolve();
    },
    rename: (from, to) => {
      fs.beforeRename?.(from, to);
      const n = nodes.get(from);
      if (n === undefined) return Promise.reject(fail("ENOENT"));
      nodes.delete(from);
      nodes.set(to, n);
      return Promise.resolve();
    },
    link: (existing, newPath) => {
      const n = nodes.get(existing);
      if (n === undefined) return Promise.reject(fail("ENOENT"));
      if (nodes.has(newPath)) return Promise.reject(fail("EEXIST"));
      nodes.set(newPath, n);
      return Promise.resolve();
    },
    unlink: (path) => {
      const n = nodes.get(path);
      if (n === undefined) return Promise.reject(fail("ENOENT"));
      if (n.kind === "dir") return Promise.reject(fail("EISDIR"));
      nodes.delete(path);
      return Promise.resolve();
    },
    readdir: (path) =>
      Promise.resolve(
        [...nodes.keys()].filter((p) =>
          p.startsWith(`${path}/`) && !p.slice(path.length + 1).includes("/")
        )
          .map((p) => p.slice(path.length + 1)),
      ),
    join: (...parts) => parts.join("/").replace(/\/+/g, "/"),
    dirname: (path) => path.slice(0, Math.max(1, path.lastIndexOf("/"))),
    basename: (path) => path.slice(path.lastIndexOf("/") + 1),
  };
  return fs;
};
