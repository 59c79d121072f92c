/**
 * The bridge from Effect to Promises: a `ManagedRuntime` of the client's layer, the fibers in
 * flight, and the translation of an `Exit` into a resolved value or a thrown library error.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Fiber from "effect/Fiber";
import type * as Layer from "effect/Layer";
import * as ManagedRuntime from "effect/ManagedRuntime";
import * as Option from "effect/Option";
import { AbortError, DisposedError, NomyoError } from "../errors.ts";

/**
 * Per-call options of the Promise API. Any other key is a `TypeError` (an ignored `abortSignal`
 * would never abort).
 */
export interface RequestOptions {
  /** Aborts the request: it rejects with `AbortError`. */
  readonly signal?: AbortSignal | undefined;
  /** Time allowed per attempt for this call, in milliseconds. */
  readonly timeout?: number | undefined;
}

/**
 * Runs effects of a layer's services as Promises, and owns their disposal.
 * Internal: the public classes wrap it.
 */
export class ClientRuntime<R, ER> {
  readonly #runtime: ManagedRuntime.ManagedRuntime<R, ER>;
  readonly #inFlight = new Set<Fiber.RuntimeFiber<unknown, unknown>>();
  #disposed: Promise<void> | undefined;

  readonly #around: <A, E>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>;

  /**
   * @param layer The services.
   * @param around What every call runs within (the client's logger, level and tracer).
   */
  constructor(
    layer: Layer.Layer<R, ER, never>,
    around: <A, E>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R> = (e) => e,
  ) {
    this.#runtime = ManagedRuntime.make(layer);
    this.#around = around;
  }

  /** Whether `dispose()` was called. */
  get disposed(): boolean {
    return this.#disposed !== undefined;
  }

  /** Builds the layer now (e.g. to start key generation early); errors surface on first use. */
  warmUp(): void {
    this.#runtime.runtime().catch(() => undefined);
  }

  /**
   * Runs `effect` as a Promise: its typed failure is thrown as is (`instanceof` works), an
   * abort rejects with `AbortError`, a disposal with `DisposedError`, a caller's `TypeError`
   * as is, and any other defect wrapped in `NomyoError`.
   */
  run<A, E>(effect: Effect.Effect<A, E, R>, options: RequestOptions = {}): Promise<A> {
    if (this.disposed) return Promise.reject(new DisposedError());
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(new AbortError());
    const fiber = this.#runtime.runFork(this.#around(effect)) as Fiber.RuntimeFiber<A, E | ER>;
    this.#inFlight.add(fiber);
    const onAbort = () => Effect.runFork(Fiber.interrupt(fiber));
    signal?.addEventListener("abort", onAbort, { once: true });
    // The fiber's own observer settles the Promise: no second fiber to await the first.
    return new Promise<A>((resolve, reject) => {
      fiber.addObserver((exit) => {
        this.#inFlight.delete(fiber);
        signal?.removeEventListener("abort", onAbort);
        if (Exit.isSuccess(exit)) resolve(exit.value);
        else reject(this.#toThrown(exit.cause, signal));
      });
    });
  }

  #toThrown(cause: Cause.Cause<unknown>, signal: AbortSignal | undefined): unknown {
    const failure = Cause.failureOption(cause);
    if (Option.isSome(failure)) return failure.value;
    if (Cause.isInterruptedOnly(cause)) {
      return signal?.aborted && !this.disposed ? new AbortError() : new DisposedError();
    }
    const defect = Cause.dieOption(cause);
    if (Option.isSome(defect) && defect.value instanceof TypeError) return defect.value;
    return new NomyoError({
      message: "Unexpected failure inside @nomyo/client",
      cause: Cause.squash(cause),
    });
  }

  /**
   * Interrupts every call in flight (they reject with `DisposedError`), then closes the
   * layer's scope: the rotation fiber stops and scoped resources are released. Idempotent.
   */
  dispose(): Promise<void> {
    this.#disposed ??= (async () => {
      const fibers = [...this.#inFlight];
      await Effect.runPromise(Fiber.interruptAll(fibers));
      await this.#runtime.dispose();
    })();
    return this.#disposed;
  }
}
