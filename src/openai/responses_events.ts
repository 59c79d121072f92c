/**
 * The Responses API event stream of a whole answer, as openai-node's `ResponseStream` and the AI
 * SDK's OpenAI provider read it: `response.created`, `response.in_progress`, per output item
 * `response.output_item.added`, its parts and deltas, `response.output_item.done`, then
 * `response.completed` (or `response.incomplete`), each with its `sequence_number`, sent as
 * `event: <type>` / `data: <json>` server-sent events. The protocol delivers the answer whole, so
 * every event is made from the finished Response object; what this buys is that code written for
 * streams runs unchanged.
 *
 * @module
 */
import { textPieces } from "./chunks.ts";
import type { ResponseObject, ResponseOutputItem } from "./responses_answer.ts";

type Json = Record<string, unknown>;

/** One event of the stream (openai's `ResponseStreamEvent`). */
export type ResponseStreamEvent = Json & {
  /** E.g. `"response.output_text.delta"`. */
  readonly type: string;
  /** Its position in the stream, from 0. */
  readonly sequence_number: number;
};

/** An event before it is numbered. */
type Unnumbered = Json & { readonly type: string };

const partsOf = (item: ResponseOutputItem): ReadonlyArray<Json> =>
  Array.isArray(item.content) ? item.content as ReadonlyArray<Json> : [];

/** The events of a message item's content part between its `added` and `done`. */
function* partEvents(
  part: Json,
  ids: { readonly item_id: string; readonly output_index: number; readonly content_index: number },
): Generator<Unnumbered, void, undefined> {
  if (part.type === "output_text") {
    const text = part.text as string;
    const logprobs = Array.isArray(part.logprobs) ? part.logprobs : [];
    yield {
      type: "response.content_part.added",
      ...ids,
      part: { ...part, text: "", logprobs: [] },
    };
    let first = true;
    for (const delta of textPieces(text)) {
      // All log probabilities ride on the first delta: they are known at once.
      yield { type: "response.output_text.delta", ...ids, delta, logprobs: first ? logprobs : [] };
      first = false;
    }
    yield { type: "response.output_text.done", ...ids, text, logprobs };
  } else if (part.type === "refusal") {
    yield { type: "response.content_part.added", ...ids, part: { type: "refusal", refusal: "" } };
    yield { type: "response.refusal.delta", ...ids, delta: part.refusal };
    yield { type: "response.refusal.done", ...ids, refusal: part.refusal };
  } else if (part.type === "reasoning_text") {
    const text = part.text as string;
    yield {
      type: "response.content_part.added",
      ...ids,
      part: { type: "reasoning_text", text: "" },
    };
    for (const delta of textPieces(text)) {
      yield { type: "response.reasoning_text.delta", ...ids, delta };
    }
    yield { type: "response.reasoning_text.done", ...ids, text };
  }
  yield { type: "response.content_part.done", ...ids, part };
}

/** The events of one output item, from `output_item.added` to `output_item.done`. */
function* itemEvents(
  item: ResponseOutputItem,
  outputIndex: number,
): Generator<Unnumbered, void, undefined> {
  const ids = { item_id: item.id, output_index: outputIndex };
  if (item.type === "function_call") {
    const args = item.arguments as string;
    yield {
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...item, status: "in_progress", arguments: "" },
    };
    if (args !== "") yield { type: "response.function_call_arguments.delta", ...ids, delta: args };
    yield {
      type: "response.function_call_arguments.done",
      ...ids,
      name: item.name,
      arguments: args,
    };
  } else {
    yield {
      type: "response.output_item.added",
      output_index: outputIndex,
      item: { ...item, status: "in_progress", content: [] },
    };
    const parts = partsOf(item);
    for (let i = 0; i < parts.length; i++) {
      yield* partEvents(parts[i] as Json, { ...ids, content_index: i });
    }
  }
  yield { type: "response.output_item.done", output_index: outputIndex, item };
}

/**
 * The events of a finished Response, made one at a time as they are read: `response.created`
 * and `response.in_progress` (the Response `in_progress`, no output, no usage); per output item
 * `response.output_item.added` (the item `in_progress`, empty), for a message or reasoning item
 * each content part's `response.content_part.added`, its deltas (`response.output_text.delta`
 * pieces that join to the text, `response.refusal.delta`, `response.reasoning_text.delta`) and
 * `….done`, `response.content_part.done`; for a function call
 * `response.function_call_arguments.delta` and `.done`; then `response.output_item.done` with
 * the whole item; last `response.completed` (`response.incomplete` for a cut answer) with the
 * whole Response, `_metadata` included. `sequence_number` counts from 0.
 *
 * @param response The finished Response (see `completionToResponse`).
 * @returns A generator of the events, in order.
 */
export function* responseEvents(
  response: ResponseObject,
): Generator<ResponseStreamEvent, void, undefined> {
  let sequence = 0;
  const number = (event: Unnumbered): ResponseStreamEvent => ({
    ...event,
    sequence_number: sequence++,
  });
  const { _metadata: _, usage: __, ...head } = response;
  const pending = { ...head, status: "in_progress", incomplete_details: null, output: [] };
  yield number({ type: "response.created", response: pending });
  yield number({ type: "response.in_progress", response: pending });
  for (let i = 0; i < response.output.length; i++) {
    for (const event of itemEvents(response.output[i] as ResponseOutputItem, i)) {
      yield number(event);
    }
  }
  const last = response.status === "incomplete" ? "response.incomplete" : "response.completed";
  yield number({ type: last, response });
}

const utf8 = new TextEncoder();

/** The headers of a Responses event stream. */
export const RESPONSES_SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};

/**
 * The events as a server-sent event body: `event: <type>` and one `data: <json>` line per event
 * (`JSON.stringify` escapes every line break), no `[DONE]` (the Responses API sends none).
 * Events are made and encoded as the body is read, so a reader that stops early stops the work.
 *
 * @param events The events, in order (an array or a generator).
 * @returns The body.
 */
export const responsesSseBody = (
  events: Iterable<ResponseStreamEvent>,
): ReadableStream<Uint8Array<ArrayBuffer>> => {
  const iterator = events[Symbol.iterator]();
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    pull(controller) {
      const next = iterator.next();
      if (next.done === true) return controller.close();
      controller.enqueue(
        utf8.encode(`event: ${next.value.type}\ndata: ${JSON.stringify(next.value)}\n\n`),
      );
    },
    cancel() {
      iterator.return?.();
    },
  });
};
