/**
 * The warning that a private key was saved without a password: once per client (once per
 * process outside a client), as an Effect log line, so it reaches the client's logger.
 *
 * @module
 */
import type * as Effect from "effect/Effect";
import { warnOnce } from "../protocol/warn_once.ts";

/**
 * Warns, once where the current fiber remembers warnings, that a private key was saved
 * without a password.
 *
 * @param path Where it was saved.
 * @returns An effect that logs the warning at most once.
 */
export const warnPlainKeyOnce = (path: string): Effect.Effect<void> =>
  warnOnce(
    "plain-key-file",
    `the private key was saved unencrypted to ${path} (mode 0600). ` +
      "Anyone who can read the file can decrypt your responses; pass a password to encrypt it.",
  );
