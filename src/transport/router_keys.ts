/**
 * The routers' public keys, fetched once per base URL and cached, validated (RSA, ≥ 2048 bits,
 * a sound exponent) and optionally pinned to a SHA-256 fingerprint. Concurrent requests share
 * one fetch; a failed fetch is not cached. A shared fetch is one attempt: retries belong to
 * whoever waits for it, so a request spends one retry budget on key fetch and sends together.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Deferred from "effect/Deferred";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as FiberId from "effect/FiberId";
import * as Layer from "effect/Layer";
import type * as Schedule from "effect/Schedule";
import type * as Scope from "effect/Scope";
import {
  type APIConnectionError,
  type HttpStatusError,
  type KeyError,
  SecurityError,
} from "../errors.ts";
import type { RsaPublicKey } from "../keys/rsa_key.ts";
import { importPublicKeyPem } from "../keys/rsa_key_import_export.ts";
import { RouterTransport } from "./router_transport.ts";
import type { RouterKeyTrust } from "./router_key_trust.ts";

/**
 * Errors of getting a router key; `KeyError` only under trust on first use (the known-routers
 * file could not be read or written).
 */
export type RouterKeyError = HttpStatusError | APIConnectionError | SecurityError | KeyError;

/** The router keys in use, per base URL. */
export interface RouterKeys {
  /**
   * The key of the router at `baseUrl`: from the cache, or fetched, retried on the schedule
   * (its own budget; for callers outside a request, e.g. `fetchServerPublicKey()`).
   */
  readonly get: (baseUrl: string) => Effect.Effect<RsaPublicKey, RouterKeyError>;
  /**
   * The key of the router at `baseUrl`: from the cache, or one fetch attempt (shared with
   * concurrent callers), not retried: for a request that retries within its own budget.
   */
  readonly getOnce: (baseUrl: string) => Effect.Effect<RsaPublicKey, RouterKeyError>;
  /**
   * Forgets `stale` (when it is still the cached key for `baseUrl`) and gets the key again, in
   * one attempt: for when the router says it could not decrypt a package after its key changed.
   */
  readonly refresh: (
    baseUrl: string,
    stale: RsaPublicKey,
  ) => Effect.Effect<RsaPublicKey, RouterKeyError>;
  /** How many fetches were started (for tests and diagnostics). */
  readonly fetches: Effect.Effect<number>;
}

/** Tag for {@linkcode RouterKeys}. */
export const RouterKeys: Context.Tag<RouterKeys, RouterKeys> = Context.GenericTag<RouterKeys>(
  "@nomyo/client/RouterKeys",
);

/** Settings of {@linkcode makeRouterKeys}. */
export interface RouterKeysOptions {
  /** SHA-256 fingerprint (hex, colons allowed) the key must have. */
  readonly pin?: string | undefined;
  /** Retries of {@linkcode RouterKeys.get} (`getOnce` and `refresh` do not retry). */
  readonly retry: Schedule.Schedule<unknown, unknown>;
  /**
   * Trust on first use (`router_key_trust.ts`), checked on every fetch, the refetch after a
   * router's "cannot decrypt" included. Not consulted when `pin` is set: the pin decides.
   */
  readonly trust?: RouterKeyTrust | undefined;
}

/** The origin of a checked base URL (its path is not an attribute anyone needs). */
const originOf = (baseUrl: string): string => {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return "invalid";
  }
};

/** Lower-case hex without separators. */
export const normalizeFingerprint = (fingerprint: string): string =>
  fingerprint.replace(/[:\s]/g, "").toLowerCase();

/**
 * Builds the cache. Fetches run in `scope`, so a caller that is interrupted while a fetch runs
 * does not leave other callers waiting for it forever.
 *
 * @param transport Where keys are fetched.
 * @param options Pin and retry schedule.
 * @param scope Where fetches run.
 * @returns The cache.
 */
export const makeRouterKeys = (
  transport: RouterTransport,
  options: RouterKeysOptions,
  scope: Scope.Scope,
): RouterKeys => {
  const pin = options.pin === undefined ? undefined : normalizeFingerprint(options.pin);
  // One entry per base URL; `key` is set once its fetch succeeded.
  const cache = new Map<
    string,
    { readonly deferred: Deferred.Deferred<RsaPublicKey, RouterKeyError>; key?: RsaPublicKey }
  >();
  let fetches = 0;

  const load = (baseUrl: string): Effect.Effect<RsaPublicKey, RouterKeyError> =>
    transport.fetchPublicKey(baseUrl).pipe(
      Effect.flatMap((pem) =>
        importPublicKeyPem(pem).pipe(
          Effect.mapError((e) =>
            new SecurityError({
              reason: "KeyRejected",
              message: `Cannot use router key: ${e.message}`,
            })
          ),
        )
      ),
      Effect.filterOrFail(
        (key) => pin === undefined || key.fingerprint === pin,
        () =>
          new SecurityError({
            reason: "FingerprintMismatch",
            message: "Cannot use router key: its fingerprint does not match the pinned one",
          }),
      ),
      // Trust on first use: refused here, before any caller can encrypt to the key.
      Effect.tap((key) =>
        pin === undefined && options.trust !== undefined
          ? options.trust.check(baseUrl, key)
          : Effect.void
      ),
    );

  /** The fetch's span: the router's origin, then the key's fingerprint or the failure. */
  const traceFetch = (baseUrl: string) =>
  <E extends { readonly _tag: string }>(
    fetch: Effect.Effect<RsaPublicKey, E>,
  ): Effect.Effect<RsaPublicKey, E> =>
    fetch.pipe(
      Effect.tap((key) =>
        Effect.annotateCurrentSpan({
          "nomyo.router.key_fingerprint": key.fingerprint,
          "nomyo.router.key_bits": key.bits,
        })
      ),
      Effect.tapError((e) => Effect.annotateCurrentSpan("error.type", e._tag)),
      Effect.withSpan("nomyo.router_key.fetch", {
        kind: "client",
        attributes: { "nomyo.router.origin": originOf(baseUrl) },
      }),
    );

  /** Each waiter logs a failure under its own payload id; the fetch fiber itself logs nothing. */
  const awaitKey = (deferred: Deferred.Deferred<RsaPublicKey, RouterKeyError>) =>
    Deferred.await(deferred).pipe(
      Effect.tapError((e) => Effect.logDebug(`router key fetch failed: ${e._tag}: ${e.message}`)),
    );

  const getOnce = (baseUrl: string): Effect.Effect<RsaPublicKey, RouterKeyError> =>
    Effect.suspend(() => {
      const cached = cache.get(baseUrl);
      if (cached !== undefined) return awaitKey(cached.deferred);
      const entry: {
        deferred: Deferred.Deferred<RsaPublicKey, RouterKeyError>;
        key?: RsaPublicKey;
      } = {
        deferred: Deferred.unsafeMake<RsaPublicKey, RouterKeyError>(FiberId.none),
      };
      cache.set(baseUrl, entry);
      fetches++;
      // The fiber hands its outcome to the deferred and never fails itself: an expected
      // failure is the waiters' to report, not an "unhandled error" of a forked fiber.
      const run = load(baseUrl).pipe(
        Effect.tap((key) => Effect.sync(() => (entry.key = key))),
        traceFetch(baseUrl),
        Effect.onExit((exit) =>
          Effect.sync(() => {
            // A failure is not cached: the next attempt fetches again.
            if (Exit.isFailure(exit) && cache.get(baseUrl) === entry) cache.delete(baseUrl);
          })
        ),
        Effect.intoDeferred(entry.deferred),
      );
      return Effect.zipRight(Effect.forkIn(run, scope), awaitKey(entry.deferred));
    });

  const get = (baseUrl: string): Effect.Effect<RsaPublicKey, RouterKeyError> =>
    Effect.retry(getOnce(baseUrl), options.retry);

  const refresh = (baseUrl: string, stale: RsaPublicKey) =>
    Effect.suspend(() => {
      // Drop the entry only if it still holds the stale key; a fetch under way is awaited.
      const cached = cache.get(baseUrl);
      if (cached?.key?.fingerprint === stale.fingerprint) cache.delete(baseUrl);
      return getOnce(baseUrl);
    });

  return { get, getOnce, refresh, fetches: Effect.sync(() => fetches) };
};

/**
 * Layer of the cache, on the {@linkcode RouterTransport} in context.
 *
 * @param options Pin and retry schedule.
 * @returns The layer.
 */
export const layerRouterKeys = (
  options: RouterKeysOptions,
): Layer.Layer<RouterKeys, never, RouterTransport> =>
  Layer.scoped(
    RouterKeys,
    Effect.gen(function* () {
      const transport = yield* RouterTransport;
      const scope = yield* Effect.scope;
      return makeRouterKeys(transport, options, scope);
    }),
  );
