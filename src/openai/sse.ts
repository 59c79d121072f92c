/**
 * Server-sent events in OpenAI's stream format: one `data: <json>` event per chunk, then
 * `data: [DONE]`.
 *
 * @module
 */
import type { ChatCompletionChunk } from "../protocol/chat.ts";

const utf8 = new TextEncoder();

/** The headers of an OpenAI event stream. */
export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

/**
 * Encodes one event. `JSON.stringify` escapes every line break, so the event is one `data:`
 * line whatever the answer holds.
 *
 * @param data The chunk, or `"[DONE]"`.
 * @returns The event's bytes.
 */
export const encodeEvent = (data: ChatCompletionChunk | "[DONE]"): Uint8Array<ArrayBuffer> =>
  utf8.encode(`data: ${data === "[DONE]" ? data : JSON.stringify(data)}\n\n`);

/**
 * The chunks as an event stream body, ending with `data: [DONE]`. Chunks are made and encoded
 * as the body is read, so a reader that stops early stops the work.
 *
 * @param chunks The chunks, in order (an array or a generator).
 * @returns The body.
 */
export const sseBody = (
  chunks: Iterable<ChatCompletionChunk>,
): ReadableStream<Uint8Array<ArrayBuffer>> => {
  const iterator = chunks[Symbol.iterator]();
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      const next = iterator.next();
      if (next.done !== true) return controller.enqueue(encodeEvent(next.value));
      controller.enqueue(encodeEvent("[DONE]"));
      controller.close();
    },
    cancel() {
      iterator.return?.();
    },
  });
};
