/**
 * The deterministic "model" of the test router: it answers `"Echo: "` followed by the last user
 * message, or calls the first tool when tools are offered, answers tool results in text, and
 * answers a `json_schema` response format with a JSON object. The same request and payload id
 * always give the same completion, so tests can compare whole objects.
 *
 * @module
 */
import { isJsonObject } from "../protocol/json.ts";
import { sha256Hex } from "./router_key_pair.ts";

/** The largest `n` (number of choices) the echo model accepts. */
export const MAX_CHOICES = 128;

/** What the echo model adds to `_metadata`. */
export interface EchoMetadata {
  /** The request's `X-Security-Tier`, when it had one. */
  readonly model_tier?: string;
  /** The attestation block to attach, when there is one. */
  readonly tpm_attestation?: unknown;
}

type Json = Record<string, unknown>;

/**
 * The text of a message's `content`: a string as is, the `text` of `text` parts joined with a
 * space for an array, `""` otherwise.
 *
 * @param content A message's `content`.
 * @returns Its text.
 */
export const contentText = (content: unknown): string => {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .filter((p): p is { type: "text"; text: string } =>
      isJsonObject(p) && p.type === "text" && typeof p.text === "string"
    )
    .map((p) => p.text)
    .join(" ");
};

const words = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length;

/** The name of the tool to call, or `undefined` when the echo model should answer in text. */
const toolToCall = (request: Json): string | undefined => {
  const tools = request.tools;
  if (!Array.isArray(tools) || tools.length === 0 || request.tool_choice === "none") {
    return undefined;
  }
  const choice = request.tool_choice;
  if (
    isJsonObject(choice) && isJsonObject(choice.function) &&
    typeof choice.function.name === "string"
  ) {
    return choice.function.name;
  }
  const first: unknown = tools[0];
  return isJsonObject(first) && isJsonObject(first.function) &&
      typeof first.function.name === "string"
    ? first.function.name
    : undefined;
};

/**
 * The text of the tool results the conversation ends with (the `tool` messages after the last
 * other message), joined with a space; `undefined` when it does not end with one.
 */
const trailingToolResults = (messages: ReadonlyArray<unknown>): string | undefined => {
  const results: string[] = [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i];
    if (!isJsonObject(m) || m.role !== "tool") break;
    results.unshift(contentText(m.content));
  }
  return results.length === 0 ? undefined : results.join(" ");
};

/**
 * Whether the request asks for a JSON answer: `response_format.type` `json_object` (JSON mode)
 * or `json_schema` (structured output; the echo model does not fit the answer to the schema).
 */
const wantsJson = (request: Json): boolean =>
  isJsonObject(request.response_format) &&
  (request.response_format.type === "json_object" ||
    request.response_format.type === "json_schema");

/**
 * Checks a request plaintext: an object with a string `model`, an array `messages` and, when
 * given, an integer `n` from 1 to {@linkcode MAX_CHOICES}.
 *
 * @param value The parsed plaintext.
 * @returns `undefined` when it is acceptable, else the reason (a 400 detail).
 */
export const checkChatRequest = (value: unknown): string | undefined => {
  if (!isJsonObject(value)) return "Invalid request: the payload is not a JSON object";
  if (typeof value.model !== "string") return "Invalid request: model must be a string";
  if (!Array.isArray(value.messages)) return "Invalid request: messages must be an array";
  const n = value.n;
  if (
    n !== undefined && n !== null &&
    !(typeof n === "number" && Number.isInteger(n) && n >= 1 && n <= MAX_CHOICES)
  ) {
    return `Invalid request: n must be an integer from 1 to ${MAX_CHOICES}`;
  }
  return undefined;
};

/**
 * Answers a checked request (see {@linkcode checkChatRequest}) as an OpenAI chat completion.
 *
 * - `id`: `"chatcmpl-"` + the first 12 hex digits of SHA-256(payload id); `created`: `now`.
 * - `n` choices (default 1), each `"Echo: " + <last user message text>`, finish reason `stop`.
 * - With `tools` and a `tool_choice` other than `"none"`, the first choice calls the named
 *   tool (or the first one) with arguments `{"echo": <last user message text>}`, content
 *   `null`, finish reason `tool_calls`.
 * - A conversation that ends with `tool` messages is answered in text, never with another
 *   call: `"Tool result: " + <their contents>`.
 * - With `response_format: {type: "json_object"}` or `{type: "json_schema"}`, the text is the
 *   JSON object `{"echo": <last user message text>}` instead, whatever the schema (a schema
 *   with one string property `echo` is the one the answer fits).
 * - `usage` counts whitespace-separated words.
 * - `_metadata` only when `metadata` has fields.
 *
 * @param request The request plaintext.
 * @param payloadId The request's `X-Payload-ID`.
 * @param now Unix seconds for `created`.
 * @param metadata What to put into `_metadata`.
 * @returns The completion object.
 */
export const echoCompletion = async (
  request: Json,
  payloadId: string,
  now: number,
  metadata: EchoMetadata = {},
): Promise<Json> => {
  const digest = await sha256Hex(new TextEncoder().encode(payloadId));
  const messages = request.messages as ReadonlyArray<unknown>;
  const lastUser = messages.findLast((m) => isJsonObject(m) && m.role === "user");
  const userText = isJsonObject(lastUser) ? contentText(lastUser.content) : "";
  const toolResults = trailingToolResults(messages);
  const echo = wantsJson(request)
    ? JSON.stringify({ echo: userText })
    : toolResults === undefined
    ? `Echo: ${userText}`
    : `Tool result: ${toolResults}`;
  const tool = toolResults === undefined ? toolToCall(request) : undefined;
  const n = typeof request.n === "number" ? request.n : 1;
  let completionTokens = 0;
  const choices = Array.from({ length: n }, (_, index) => {
    if (index === 0 && tool !== undefined) {
      const args = JSON.stringify({ echo: userText });
      completionTokens += words(args);
      return {
        index,
        message: {
          role: "assistant",
          content: null,
          tool_calls: [{
            id: `call_${digest.slice(12, 36)}`,
            type: "function",
            function: { name: tool, arguments: args },
          }],
        },
        finish_reason: "tool_calls",
      };
    }
    completionTokens += words(echo);
    return { index, message: { role: "assistant", content: echo }, finish_reason: "stop" };
  });
  const promptTokens = messages.reduce<number>(
    (sum, m) => sum + (isJsonObject(m) ? words(contentText(m.content)) : 0),
    0,
  );
  const completion: Json = {
    id: `chatcmpl-${digest.slice(0, 12)}`,
    object: "chat.completion",
    created: now,
    model: request.model,
    choices,
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
  if (Object.keys(metadata).length > 0) completion._metadata = { ...metadata };
  return completion;
};
