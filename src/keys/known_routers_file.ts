/**
 * The known-routers file of trust on first use: router origin → SHA-256 of the router key's DER
 * SPKI, as `{ "version": 1, "routers": { "<origin>": "<64 lowercase hex>" } }`.
 *
 * The file is read as untrusted input: at most {@linkcode MAX_KNOWN_ROUTERS_BYTES}, UTF-8, JSON
 * nested at most 3 deep, exactly the two keys, version 1, canonical `http(s)` origins and 64
 * lowercase hex digits. Anything else is a `KeyError` (`"Malformed"`) naming the file and what is
 * wrong, never overwritten: rewriting a file we cannot read would forget what it trusted, and
 * the next key would be "first use" again. Like a private key file it must be a regular file
 * (not a symbolic link) that group and others cannot access (`"InsecurePermissions"`): who can
 * write it decides which router keys are trusted. Writes are atomic, mode `0600`
 * (`atomic_write.ts`), through the `KeyFileSystem` in context; a read-modify-write runs under
 * the lock file `<file>.lock` ({@linkcode withKnownRoutersLock}, `file_lock.ts`).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { KeyError } from "../errors.ts";
import { showKey } from "../protocol/closed_keys.ts";
import { isJsonObject, parseJsonBounded } from "../protocol/json.ts";
import { removeStaleTemps, writeFilesAtomically } from "./atomic_write.ts";
import { makeKeyDir, pathExists, readKeyFile } from "./file_access.ts";
import { withFileLock } from "./file_lock.ts";
import { currentKeyFileSystem } from "./node_file_system.ts";

/** The file's name in `keyDir` when no `knownRoutersPath` is given. */
export const KNOWN_ROUTERS_FILE = "known_routers.json";

/** The largest known-routers file read: 1 MiB (about 10,000 routers). */
export const MAX_KNOWN_ROUTERS_BYTES: number = 1024 * 1024;

/** The version this client reads and writes. */
export const KNOWN_ROUTERS_VERSION = 1;

/** Origin → fingerprint (64 lowercase hex), as read from or written to the file. */
export type KnownRouters = ReadonlyMap<string, string>;

const FINGERPRINT = /^[0-9a-f]{64}$/;

/**
 * Whether `origin` is what `new URL(base).origin` gives for an `http(s)` URL.
 *
 * @param origin A string.
 * @returns `true` for a canonical origin.
 */
export const isRouterOrigin = (origin: string): boolean => {
  try {
    const url = new URL(origin);
    return (url.protocol === "https:" || url.protocol === "http:") && url.origin === origin;
  } catch {
    return false;
  }
};

const malformed = (path: string, what: string): KeyError =>
  new KeyError({
    reason: "Malformed",
    message: `Cannot read known routers: ${path} ${what}; fix it, or move it away to trust ` +
      "every router key on first use again",
  });

/**
 * Parses the file's bytes, refusing anything but the format above.
 *
 * @param bytes The file's contents (at most {@linkcode MAX_KNOWN_ROUTERS_BYTES} + 1 bytes read).
 * @param path For messages.
 * @returns The routers; `"Malformed"` saying what is wrong.
 */
export const parseKnownRouters = (
  bytes: Uint8Array,
  path: string,
): Effect.Effect<KnownRouters, KeyError> =>
  Effect.suspend(() => {
    const fail = (what: string) => Effect.fail(malformed(path, what));
    if (bytes.length > MAX_KNOWN_ROUTERS_BYTES) return fail("is larger than 1 MiB");
    if (bytes.length === 0) return fail("is empty");
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      return fail("is not UTF-8 text");
    }
    const parsed = parseJsonBounded(text, 3);
    if (!parsed.ok) {
      return fail(parsed.reason === "syntax" ? "is not JSON" : "is nested deeper than 3 levels");
    }
    const value = parsed.value;
    if (!isJsonObject(value)) return fail("is not a JSON object");
    const unknown = Object.keys(value).filter((k) => k !== "version" && k !== "routers");
    if (unknown.length > 0) {
      return fail(`has an unknown key ${showKey(unknown[0]!)} (the keys are version and routers)`);
    }
    if (!Object.hasOwn(value, "version")) return fail("has no version");
    if (value.version !== KNOWN_ROUTERS_VERSION) {
      return fail(
        `has version ${
          typeof value.version === "number" ? value.version : "of the wrong type"
        }; this client reads version ${KNOWN_ROUTERS_VERSION}`,
      );
    }
    const routers = Object.hasOwn(value, "routers") ? value.routers : undefined;
    if (!isJsonObject(routers)) return fail("has no routers object");
    const result = new Map<string, string>();
    for (const origin of Object.keys(routers)) {
      if (!isRouterOrigin(origin)) {
        return fail(
          `has the entry ${
            showKey(origin)
          }, which is not a router origin (scheme://host[:port], as new URL(baseUrl).origin gives)`,
        );
      }
      const fingerprint = routers[origin];
      if (typeof fingerprint !== "string" || !FINGERPRINT.test(fingerprint)) {
        return fail(
          `has a fingerprint for ${origin} that is not 64 lowercase hex digits (SHA-256 of the router key)`,
        );
      }
      result.set(origin, fingerprint);
    }
    return Effect.succeed(result);
  });

/**
 * The file's text: sorted origins, two-space indents, a final newline.
 *
 * @param routers The routers.
 * @returns The JSON text.
 */
export const formatKnownRouters = (routers: KnownRouters): string => {
  const sorted = Object.create(null) as Record<string, string>;
  for (const origin of [...routers.keys()].sort()) sorted[origin] = routers.get(origin)!;
  return `${JSON.stringify({ version: KNOWN_ROUTERS_VERSION, routers: sorted }, null, 2)}\n`;
};

/**
 * Reads the file: empty when it does not exist, else parsed strictly (see the module).
 *
 * @param path The file.
 * @returns The routers; `KeyError` `"Malformed"`, `"InsecurePermissions"`, `"Io"` or
 *   `"Unavailable"` (no file system).
 */
export const readKnownRouters = (path: string): Effect.Effect<KnownRouters, KeyError> =>
  Effect.gen(function* () {
    const action = "read known routers";
    const fs = yield* currentKeyFileSystem;
    if (!(yield* pathExists(fs, path, action))) return new Map<string, string>();
    const bytes = yield* readKeyFile(fs, path, {
      private: true,
      maxBytes: MAX_KNOWN_ROUTERS_BYTES,
      action,
    });
    return yield* parseKnownRouters(bytes, path);
  });

/**
 * Writes the file atomically with mode `0600` (its directory made `0700` when missing), after
 * removing temporary files a killed write left.
 *
 * @param path The file.
 * @param routers Every router to keep (the caller merged them into a fresh read).
 * @returns When it is in place; `KeyError` `"Io"` naming the path otherwise.
 */
export const writeKnownRouters = (
  path: string,
  routers: KnownRouters,
): Effect.Effect<void, KeyError> =>
  Effect.gen(function* () {
    const action = "record router key";
    const fs = yield* currentKeyFileSystem;
    const dir = fs.dirname(path);
    yield* makeKeyDir(fs, dir, action);
    yield* removeStaleTemps(fs, dir, fs.basename(path));
    const bytes = new TextEncoder().encode(formatKnownRouters(routers));
    yield* writeFilesAtomically(fs, [{ path, bytes, mode: 0o600 }], action);
  });

/**
 * Runs a read-modify-write of the file under its lock file `<path>.lock` (`file_lock.ts`): made
 * exclusively (`O_EXCL | O_NOFOLLOW`, `0600`) in the file's directory (made `0700` when
 * missing), waited for at most 2 s when another process holds it, taken over when 30 s old, and
 * removed however `effect` ends. Reads alone need no lock.
 *
 * @param path The known-routers file.
 * @param effect The fresh read, the decision and the write.
 * @returns What `effect` gives; `KeyError` `"Io"` naming the lock file when it stayed held,
 *   `"InsecurePermissions"` when it is a symbolic link.
 */
export const withKnownRoutersLock = <A, E, R>(
  path: string,
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, E | KeyError, R> =>
  Effect.gen(function* () {
    const action = "record router key";
    const fs = yield* currentKeyFileSystem;
    yield* makeKeyDir(fs, fs.dirname(path), action);
    return yield* withFileLock(fs, path, action, effect);
  });
