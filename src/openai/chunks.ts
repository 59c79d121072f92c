/**
 * The streaming shape of a whole answer: a decrypted {@linkcode ChatCompletion} cut into
 * OpenAI's `chat.completion.chunk`s. The protocol delivers the answer whole, so every chunk is
 * made at once; what this buys is that code written for streams runs unchanged.
 *
 * @module
 */
import type {
  ChatCompletion,
  ChatCompletionChoice,
  ChatCompletionChunk,
  ChatCompletionChunkChoice,
  ChatCompletionDelta,
} from "../protocol/chat.ts";

/** Options of {@linkcode completionToChunks}. */
export interface ChunkOptions {
  /** Add a last chunk with `usage` and empty `choices` (OpenAI's `stream_options.include_usage`). */
  readonly includeUsage?: boolean;
}

/** Content pieces are cut at word boundaries and hold at least this many UTF-16 units. */
const MIN_PIECE = 64;

/**
 * Cuts a text into pieces at word boundaries (before a word that follows whitespace), each at
 * least {@linkcode MIN_PIECE} long but the last; the pieces join to the text exactly, and a
 * surrogate pair is never split.
 *
 * @param text The text.
 * @returns The pieces (none for an empty text).
 */
export const textPieces = (text: string): string[] => {
  const pieces: string[] = [];
  let start = 0;
  const boundary = /\s(?=\S)/g;
  for (let m = boundary.exec(text); m !== null; m = boundary.exec(text)) {
    const end = m.index + 1;
    if (end - start >= MIN_PIECE) {
      pieces.push(text.slice(start, end));
      start = end;
    }
  }
  if (start < text.length) pieces.push(text.slice(start));
  return pieces;
};

/** The deltas of one choice, in order, and its last chunk's choice. */
const choiceChunks = (choice: ChatCompletionChoice): ChatCompletionChunkChoice[] => {
  const { index, message } = choice;
  const out: ChatCompletionChunkChoice[] = [];
  const push = (delta: ChatCompletionDelta): void => {
    out.push({ index, delta, finish_reason: null });
  };
  push({ role: "assistant", content: "" });
  if (typeof message.reasoning_content === "string" && message.reasoning_content !== "") {
    for (const piece of textPieces(message.reasoning_content)) push({ reasoning_content: piece });
  }
  if (typeof message.content === "string") {
    for (const piece of textPieces(message.content)) push({ content: piece });
  }
  if (typeof message.refusal === "string" && message.refusal !== "") {
    push({ refusal: message.refusal });
  }
  (message.tool_calls ?? []).forEach((call, i) => {
    push({
      tool_calls: [{
        index: i,
        id: call.id,
        type: "function",
        function: { name: call.function.name, arguments: "" },
      }],
    });
    if (call.function.arguments !== "") {
      push({ tool_calls: [{ index: i, function: { arguments: call.function.arguments } }] });
    }
  });
  out.push({
    index,
    delta: {},
    finish_reason: choice.finish_reason,
    ...(choice.logprobs === null ? {} : { logprobs: choice.logprobs }),
  });
  return out;
};

/**
 * Cuts a completion into OpenAI's stream chunks: per choice a role delta, content (and
 * reasoning, refusal) deltas, `tool_calls` deltas with their `index` (name first, then the
 * arguments), and a chunk with the `finish_reason`; then, with `includeUsage`, a chunk with
 * `usage` and no choices. The last chunk carries `_metadata`. Content deltas join to the
 * answer exactly.
 *
 * @param completion The decrypted answer.
 * @param options Whether to add the usage chunk.
 * @returns The chunks, in order.
 */
export const completionToChunks = (
  completion: ChatCompletion,
  options: ChunkOptions = {},
): ChatCompletionChunk[] => {
  const includeUsage = options.includeUsage === true;
  const base = {
    id: completion.id,
    object: "chat.completion.chunk" as const,
    created: completion.created,
    model: completion.model,
    ...(typeof completion.system_fingerprint === "string"
      ? { system_fingerprint: completion.system_fingerprint }
      : {}),
    ...(includeUsage ? { usage: null } : {}),
  };
  const chunks: ChatCompletionChunk[] = completion.choices.flatMap((choice) =>
    choiceChunks(choice).map((c) => ({ ...base, choices: [c] }))
  );
  if (includeUsage) chunks.push({ ...base, choices: [], usage: completion.usage ?? null });
  const last = chunks.pop();
  if (last !== undefined) chunks.push({ ...last, _metadata: completion._metadata });
  return chunks;
};

/**
 * The chunks as an async iterable, the shape `create({ stream: true })` returns.
 *
 * @param chunks The chunks.
 * @returns An iterable that yields them in order.
 */
export const chunkStream = (
  chunks: ReadonlyArray<ChatCompletionChunk>,
): AsyncIterable<ChatCompletionChunk> => ({
  async *[Symbol.asyncIterator](): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    yield* chunks;
  },
});
