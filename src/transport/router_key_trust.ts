/**
 * Trust on first use of router keys (`routerKeyPolicy: "tofu"`): the first key seen for a router
 * origin is recorded in the known-routers file; a later different key is refused with
 * `SecurityError` `"RouterKeyChanged"` unless `onRouterKeyChange` returns `true`, which records
 * the new one. The check runs where the router key is fetched (`router_keys.ts`), so nothing is
 * ever encrypted to a refused key, and the refetch after a router's "cannot decrypt" goes through
 * it too.
 *
 * The file is the memory, shared by every process that uses it: it is read again on every
 * check, and read again right before every write (the write keeps what other processes recorded
 * meanwhile, and a key another process recorded for the same origin is decided again, never
 * overwritten unseen). That read and the write run under the lock file `<file>.lock`
 * (`file_lock.ts`), so two processes recording different origins at once both keep theirs.
 * After a write the file is read once more: when a writer that took no lock (an older version)
 * replaced our file, the check is decided again on what won. Writes are atomic; a corrupt file
 * is refused, never overwritten.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { type KeyError, SecurityError } from "../errors.ts";
import {
  KNOWN_ROUTERS_FILE,
  type KnownRouters,
  readKnownRouters,
  withKnownRoutersLock,
  writeKnownRouters,
} from "../keys/known_routers_file.ts";
import { currentKeyFileSystem } from "../keys/node_file_system.ts";
import type { RsaPublicKey } from "../keys/rsa_key.ts";

/** What `onRouterKeyChange` is told: fingerprints are SHA-256 of the DER SPKI, lowercase hex. */
export interface RouterKeyChange {
  /** The router's origin (`https://api.nomyo.ai`), as recorded. */
  readonly origin: string;
  /** The fingerprint recorded for it. */
  readonly previous: string;
  /** The fingerprint of the key the router presents now. */
  readonly next: string;
}

/**
 * Decides on a changed router key: exactly `true` (or a Promise of it) accepts and records the
 * new key; anything else, a throw or a rejection refuses it.
 *
 * @example Accept only the new key announced out of band
 * ```ts
 * import type { ClientOptions, RouterKeyChangeHandler } from "@nomyo/client";
 * const announced = "ab".repeat(32); // the router operator's new fingerprint
 * const onRouterKeyChange: RouterKeyChangeHandler = ({ next }) => next === announced;
 * const options: ClientOptions = {
 *   keyDir: "./client_keys",
 *   routerKeyPolicy: "tofu",
 *   onRouterKeyChange,
 * };
 * ```
 */
export type RouterKeyChangeHandler = (change: RouterKeyChange) => boolean | Promise<boolean>;

/** Settings of {@linkcode makeRouterKeyTrust}. */
export interface RouterKeyTrustOptions {
  /** The known-routers file; default `<dir>/known_routers.json`. */
  readonly path?: string | undefined;
  /** Where the file is when no `path` is given (the client's `keyDir`). */
  readonly dir?: string | undefined;
  /** Asked when a router presents a key other than the recorded one. */
  readonly onChange?: RouterKeyChangeHandler | undefined;
}

/** The trust-on-first-use check. */
export interface RouterKeyTrust {
  /** Succeeds when `key` is (or is now) the recorded key of `baseUrl`'s origin. */
  readonly check: (
    baseUrl: string,
    key: RsaPublicKey,
  ) => Effect.Effect<void, SecurityError | KeyError>;
}

/** Rounds of "decide, write, read back" before giving up on a file that keeps changing. */
const MAX_ROUNDS = 8;

const refused = (origin: string, why: string): SecurityError =>
  new SecurityError({
    reason: "RouterKeyChanged",
    message: `Cannot use router key: the key of ${origin} is not the one recorded on first use ` +
      `(${why}); nothing was sent. If the router rotated its key, accept it through ` +
      "onRouterKeyChange, or remove its entry from the known routers file",
  });

/**
 * Builds the check.
 *
 * @param options Where the file is, and the change callback.
 * @returns The check.
 */
export const makeRouterKeyTrust = (options: RouterKeyTrustOptions): RouterKeyTrust => {
  const { onChange } = options;
  const pathOf: Effect.Effect<string, KeyError> = options.path !== undefined
    ? Effect.succeed(options.path)
    : Effect.map(currentKeyFileSystem, (fs) => fs.join(options.dir ?? ".", KNOWN_ROUTERS_FILE));
  // One check at a time in this client: a change is asked about once, not per waiting request.
  const lock = Effect.unsafeMakeSemaphore(1);

  /** Whether the callback accepts; only exactly `true` does. */
  const ask = (change: RouterKeyChange): Effect.Effect<boolean, SecurityError> =>
    onChange === undefined ? Effect.succeed(false) : Effect.tryPromise({
      try: async () => {
        const answer = onChange(Object.freeze({ ...change }));
        // Not `await answer` on any object: that would run a caller's `then` getter.
        return (answer instanceof Promise ? await answer : answer) === true;
      },
      // The callback's error is not put in ours: it is the caller's, and may say anything.
      catch: () => refused(change.origin, "onRouterKeyChange threw"),
    });

  const check = (baseUrl: string, key: RsaPublicKey) =>
    Effect.gen(function* () {
      const origin = URL.canParse(baseUrl) ? new URL(baseUrl).origin : undefined;
      if (origin === undefined) {
        return yield* Effect.die(new TypeError("Cannot check router key: baseUrl is not a URL"));
      }
      const next = key.fingerprint;
      const path = yield* pathOf;
      let known: KnownRouters = yield* readKnownRouters(path);
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const previous = known.get(origin);
        if (previous === next) return;
        if (previous !== undefined) {
          const accepted = yield* ask({ origin, previous, next });
          if (!accepted) {
            return yield* Effect.fail(
              refused(
                origin,
                onChange === undefined ? "no onRouterKeyChange" : "onRouterKeyChange refused it",
              ),
            );
          }
        }
        // Under the lock, read again right before writing: keep what others recorded
        // meanwhile, and decide again when the entry of this origin is no longer the one just
        // decided on. The callback above runs outside the lock.
        const changed = yield* withKnownRoutersLock(
          path,
          Effect.gen(function* () {
            const fresh = yield* readKnownRouters(path);
            if (fresh.get(origin) !== previous) return fresh;
            yield* writeKnownRouters(path, new Map(fresh).set(origin, next));
            return undefined;
          }),
        );
        if (changed !== undefined) {
          known = changed;
          continue;
        }
        // A concurrent writer may have replaced our file: decide again on what won.
        known = yield* readKnownRouters(path);
      }
      return yield* Effect.fail(
        refused(origin, "the known routers file kept changing while it was written"),
      );
    });

  return { check: (baseUrl, key) => lock.withPermits(1)(check(baseUrl, key)) };
};
