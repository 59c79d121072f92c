/**
 * The `KeyError`s of failed file operations: they name the path and the failure (`ENOENT`,
 * `EACCES`, …), never file contents, and carry no `cause`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { KeyError } from "../errors.ts";

/**
 * The code of a `node:fs` error (`"ENOENT"`, …); Deno's permission errors, which carry none,
 * read as `"EACCES"`.
 *
 * @param e What a file operation rejected with.
 * @returns The code, or `undefined`.
 */
export const errorCode = (e: unknown): string | undefined => {
  if (typeof e !== "object" || e === null) return undefined;
  const { code, name } = e as { code?: unknown; name?: unknown };
  if (typeof code === "string") return code;
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

/**
 * `"Io"` naming the path and the failure, never anything read.
 *
 * @param action For the message: `"save key pair"`.
 * @param path The path the operation was on.
 * @param e What the operation rejected with (only its code is read).
 * @returns The error.
 */
export const ioError = (action: string, path: string, e: unknown): KeyError => {
  const code = errorCode(e);
  const detail = code === undefined ? "file system error" : DETAILS.get(code) ?? code;
  return new KeyError({ reason: "Io", message: `Cannot ${action}: ${path}: ${detail}` });
};

/**
 * Runs a file operation, its rejection mapped by {@linkcode ioError}.
 *
 * @param action For the message.
 * @param path The path the operation is on.
 * @param f The operation.
 * @returns Its result, or `"Io"`.
 */
export const tryIo = <A>(
  action: string,
  path: string,
  f: () => Promise<A>,
): Effect.Effect<A, KeyError> =>
  Effect.tryPromise({ try: f, catch: (e) => ioError(action, path, e) });
