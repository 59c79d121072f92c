/**
 * The live {@linkcode KeyFileSystem}: `node:fs/promises`, `node:path` and `node:process`, which
 * Deno, Node 20+ and Bun all have. They are imported with a dynamic `import()` on first use, so
 * importing the library in a browser works; there the first use fails with `KeyError`
 * `"Unavailable"` (keys stay in memory, `keyDir`/`loadKeys` need a file system).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import { KeyError } from "../errors.ts";
import { errorCode } from "./file_errors.ts";
import { KeyFileSystem } from "./file_system.ts";

/** The message of `"Unavailable"`: no file system in this runtime. */
export const UNAVAILABLE_MESSAGE =
  "Cannot access key files: this runtime has no file system (node:fs); in browsers keys stay in memory, and keyDir/loadKeys need Deno, Node or Bun";

/**
 * Imports the real file system (rejects in browsers).
 *
 * @returns `node:fs/promises`, `node:path` and `node:process` as a {@linkcode KeyFileSystem}.
 */
export const importNodeFileSystem = async (): Promise<KeyFileSystem> => {
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
    link: (existing, newPath) => fs.link(existing, newPath),
    unlink: (p) => fs.unlink(p),
    readdir: (p) => fs.readdir(p),
    join: (...parts) => path.join(...parts),
    dirname: (p) => path.dirname(p),
    basename: (p) => path.basename(p),
  };
};

/**
 * Loads a file system once; `"Unavailable"` when the import fails (the import is not retried).
 *
 * @param importer The import (default: {@linkcode importNodeFileSystem}).
 * @returns An effect giving the file system, importing it on first run only.
 */
export const makeFileSystemLoader = (
  importer: () => Promise<KeyFileSystem> = importNodeFileSystem,
): Effect.Effect<KeyFileSystem, KeyError> => {
  let loaded: Promise<KeyFileSystem> | undefined;
  return Effect.tryPromise({
    try: () => (loaded ??= importer()),
    catch: () => new KeyError({ reason: "Unavailable", message: UNAVAILABLE_MESSAGE }),
  });
};

/** This runtime's file system, imported on first use. */
const nodeFileSystem: Effect.Effect<KeyFileSystem, KeyError> = makeFileSystemLoader();

/** Layer of this runtime's {@linkcode KeyFileSystem}; `"Unavailable"` in browsers. */
export const KeyFileSystemLive: Layer.Layer<KeyFileSystem, KeyError> = Layer.effect(
  KeyFileSystem,
  nodeFileSystem,
);

/**
 * The {@linkcode KeyFileSystem} in context, else this runtime's: the key files need no layer,
 * and a test provides a fake with `Effect.provideService(KeyFileSystem, fake)`.
 */
export const currentKeyFileSystem: Effect.Effect<KeyFileSystem, KeyError> = Effect.flatMap(
  Effect.serviceOption(KeyFileSystem),
  Option.match({ onNone: () => nodeFileSystem, onSome: Effect.succeed }),
);
