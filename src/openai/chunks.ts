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
/** A text is cut into about this many pieces at most, whatever its length. */
const MAX_PIECES = 1024;

/**
 * Cuts a text into pieces at word boundaries (before a word that follows whitespace), each at
 * least 64 UTF-16 units long (more for long texts: at most about 1,024 pieces) but the last;
 * the pieces join to the text exactly, and a surrogate pair is never split.
 *
 * @param text The text.
 * @returns The pieces (none for an empty text).
 */
export const textPieces = (text: string): string[] => {
  const min = Math.max(MIN_PIECE, Math.ceil(text.length / MAX_PIECES));
  const pieces: string[] = [];
  let start = 0;
  const boundary = /\s(?=\S)/g;
  for (let m = boundary.exec(text); m !== null; m = boundary.exec(text)) {
    const end = m.index + 1;
    if (end - start >= min) {
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
 * The chunks of a completion, made one at a time as they are read (see
 * {@linkcode completionToChunks}).
 *
 * @param completion The decrypted answer.
 * @param options Whether to add the usage chunk.
 * @returns A generator of the chunks, in order.
 */
export function* chunksOf(
  completion: ChatCompletion,
  options: ChunkOptions = {},
): Generator<ChatCompletionChunk, void, undefined> {
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
  function* all(): Generator<ChatCompletionChunk, void, undefined> {
    for (const choice of completion.choices) {
      for (const c of choiceChunks(choice)) yield { ...base, choices: [c] };
    }
    if (includeUsage) yield { ...base, choices: [], usage: completion.usage ?? null };
  }
  // One chunk of lookahead: the last one carries `_metadata`.
  let held: ChatCompletionChunk | undefined;
  for (const chunk of all()) {
    if (held !== undefined) yield held;
    held = chunk;
  }
  if (held !== undefined) yield { ...held, _metadata: completion._metadata };
}

/**
 * Cuts a completion into OpenAI's stream chunks: per choice a role delta, content (and
 * reasoning, refusal) deltas, `tool_calls` deltas with their `index` (name first, then the
 * arguments), and a chunk with the `finish_reason` as the router sent it (another server's
 * reason, such as `"abort"`, or `null`, included); then, with `includeUsage`, a chunk with
 * `usage` and no choices. The last chunk carries `_metadata`. Content deltas join to the
 * answer exactly; a long answer is cut into at most about 1,024 deltas.
 *
 * @param completion The decrypted answer.
 * @param options Whether to add the usage chunk.
 * @returns The chunks, in order.
 */
export const completionToChunks = (
  completion: ChatCompletion,
  options: ChunkOptions = {},
): ChatCompletionChunk[] => [...chunksOf(completion, options)];

/**
 * Chunks as an async iterable, the shape `create({ stream: true })` returns. Each loop over it
 * starts from the first chunk.
 *
 * @param chunks Makes the chunks (called once per loop).
 * @returns An iterable that yields them in order.
 */
export const chunkStream = (
  chunks: () => Iterable<ChatCompletionChunk>,
): AsyncIterable<ChatCompletionChunk> => ({
  async *[Symbol.asyncIterator](): AsyncGenerator<ChatCompletionChunk, void, undefined> {
    yield* chunks();
  },
});
