/**
 * The one reader of request bodies, for a node:http `IncomingMessage` and a WHATWG body alike
 * (both are async iterables of bytes): at most a given number of bytes, before a deadline,
 * every chunk read wiped on every exit but the one returned (they hold the prompt). The bytes
 * gather in the one capped accumulator (`protocol/capped_buffer.ts`), the router's answers'
 * too, so a drip of tiny chunks holds no more than its bytes.
 *
 * @module
 */
import { makeCappedBuffer } from "../protocol/capped_buffer.ts";

/** What reading a body gave. */
export type BodyRead =
  /** The whole body: the caller owns it and wipes it when done. */
  | { readonly kind: "body"; readonly bytes: Uint8Array<ArrayBuffer> }
  /** The declared length, or the bytes that arrived, went past the cap. */
  | { readonly kind: "too-large" }
  /** The body did not arrive within the time. */
  | { readonly kind: "timeout" }
  /** The connection broke or the stream failed: nothing to answer. */
  | { readonly kind: "failed" };

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** The most bytes read; one more is `too-large`. */
  readonly maxBytes: number;
  /** The `Content-Length` header, when there is one: over the cap, nothing is read. */
  readonly declaredLength?: string | null | undefined;
  /** Aborts when the body is late (`AbortSignal.timeout(ms)`, or the caller's own timer). */
  readonly deadline?: AbortSignal;
}

const TIMED_OUT: unique symbol = Symbol("timed out");

/**
 * Reads a body, at most `maxBytes`, before `deadline` aborts. A body of one chunk is returned
 * as read (no copy); more are copied into the accumulator's blocks as they arrive, each chunk
 * wiped once copied, and joined into one buffer at the end (the blocks wiped). On `too-large`, `timeout` and
 * `failed` every chunk read is wiped and the source is closed (`return()` on its iterator:
 * a node:http request is destroyed, a WHATWG stream cancelled).
 *
 * @param source The body (`null`: none, an empty body).
 * @param options The cap, the declared length, the deadline.
 * @returns The body or why there is none.
 */
export const readBody = async (
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null,
  options: ReadBodyOptions,
): Promise<BodyRead> => {
  const { maxBytes, declaredLength, deadline } = options;
  const declared = declaredLength !== undefined && declaredLength !== null &&
      /^\d{1,16}$/.test(declaredLength)
    ? Number(declaredLength)
    : undefined;
  if (declared !== undefined && declared > maxBytes) {
    await closeSource(source);
    return { kind: "too-large" };
  }
  if (source === null) return { kind: "body", bytes: new Uint8Array(0) };
  const buffer = makeCappedBuffer(maxBytes, { declared, wipeChunks: true });
  let onLate: (() => void) | undefined;
  const late = deadline === undefined ? undefined : new Promise<typeof TIMED_OUT>((resolve) => {
    onLate = () => resolve(TIMED_OUT);
    if (deadline.aborted) onLate();
    else deadline.addEventListener("abort", onLate, { once: true });
  });
  const iterator = iteratorOf(source);
  let outcome: BodyRead | undefined;
  try {
    for (;;) {
      const next = iterator.next();
      const step = late === undefined ? await next : await Promise.race([next, late]);
      if (step === TIMED_OUT) {
        next.then((r) => r.done ? undefined : r.value?.fill(0), () => undefined);
        outcome = { kind: "timeout" };
        break;
      }
      if (step.done) break;
      const chunk = typeof step.value === "string"
        ? new TextEncoder().encode(step.value)
        : step.value;
      if (!buffer.push(chunk)) {
        chunk.fill(0); // the chunk over the cap is the prompt too
        outcome = { kind: "too-large" };
        break;
      }
    }
  } catch {
    outcome = { kind: "failed" };
  } finally {
    if (onLate !== undefined) deadline?.removeEventListener("abort", onLate);
  }
  if (outcome !== undefined) {
    buffer.wipe();
    await Promise.resolve(iterator.return?.()).catch(() => undefined);
    return outcome;
  }
  return { kind: "body", bytes: buffer.result() };
};

/**
 * The chunks of a body: a WHATWG stream through its reader (Safari's streams are not async
 * iterable, and neither are those of DOM's type declarations), anything else as it iterates.
 */
const iteratorOf = (
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>,
): AsyncIterator<Uint8Array> => {
  if (!(source instanceof ReadableStream)) return source[Symbol.asyncIterator]();
  const reader = source.getReader();
  return {
    next: () => reader.read() as Promise<IteratorResult<Uint8Array>>,
    return: async () => {
      await reader.cancel().catch(() => undefined);
      return { done: true, value: undefined };
    },
  };
};

const closeSource = async (
  source: ReadableStream<Uint8Array> | AsyncIterable<Uint8Array> | null,
): Promise<void> => {
  if (source === null) return;
  if (source instanceof ReadableStream) {
    await source.cancel().catch(() => undefined);
    return;
  }
  const destroy = (source as { destroy?: unknown }).destroy;
  if (typeof destroy !== "function") {
    await Promise.resolve(source[Symbol.asyncIterator]().return?.()).catch(() => undefined);
  }
  // A node:http request over the cap is left unread: the bridge answers and closes it.
};
