/**
 * The Responses API request (`POST …/responses`, openai's `responses.create`) translated to the
 * one chat completion request the protocol sends. The Responses body is a closed set: every key
 * is translated, accepted for what it already means here, or refused with the field named;
 * nothing is dropped. Only own properties of the parsed body are read.
 *
 * What the protocol cannot do is refused: server state (`previous_response_id`, `conversation`,
 * `store: true`, `item_reference`, `prompt`, `background`), built-in tools (web and file search,
 * code interpreter, computer use, image generation, MCP, shell …), `input_file` parts and images
 * given by `file_id`, and any key not known here.
 *
 * @module
 */
import type { ChatCompletionRequest } from "../protocol/chat.ts";
import {
  arrayAt,
  booleanAt,
  closedKeys,
  integerAt,
  isUnset,
  type Json,
  keyName,
  numberAt,
  objectAt,
  onlyUnset,
  partType,
  quote,
  refuse,
  Refused,
  type ResponsesRefusal,
  stringAt,
  unsupported,
} from "./responses_fields.ts";
import { ownData } from "../protocol/closed_keys.ts";
import { translateInput } from "./responses_input.ts";
import { translateToolChoice, translateTools } from "./responses_tools.ts";

export type { ResponsesRefusal, ResponsesRefusalCode } from "./responses_fields.ts";

/** The request parameters a Response object reports back (what OpenAI echoes). */
export interface ResponseEcho {
  /** The function tools, in the Responses shape. */
  readonly tools: ReadonlyArray<Json>;
  /** As given, else `"auto"`. */
  readonly tool_choice: unknown;
  /** As given, else `null`. */
  readonly temperature: number | null;
  /** As given, else `null`. */
  readonly top_p: number | null;
  /** As given, else `null`. */
  readonly max_output_tokens: number | null;
  /** As given, else `true`. */
  readonly parallel_tool_calls: boolean;
  /** `text` as given, with `format` defaulting to `{ type: "text" }`. */
  readonly text: Json;
  /** As given, else `{}`. */
  readonly metadata: Json;
  /** `{ effort, summary: null }`. */
  readonly reasoning: Json;
  /** As given, else `0`. */
  readonly top_logprobs: number;
  /** Whether `include` asked for `message.output_text.logprobs` (or `top_logprobs` was set). */
  readonly logprobs: boolean;
}

/** A translated Responses request. */
export interface ResponsesTranslation {
  /** Always `true`. */
  readonly ok: true;
  /** The chat completion request to send. */
  readonly request: ChatCompletionRequest;
  /** Whether to answer as the Responses event stream. */
  readonly stream: boolean;
  /** What the Response object reports back. */
  readonly echo: ResponseEcho;
}

// ---------------------------------------------------------------------------------------------
// text, reasoning, include

const JSON_SCHEMA_KEYS = new Set(["type", "name", "schema", "description", "strict"]);

/** `text.format` as chat's `response_format` (`undefined` for plain text). */
const translateFormat = (value: unknown): Json | undefined => {
  if (isUnset(value)) return undefined;
  const [format, type] = partType(value, "text.format");
  if (type === "text") {
    closedKeys(format, new Set(["type"]), "text.format");
    return undefined;
  }
  if (type === "json_object") {
    closedKeys(format, new Set(["type"]), "text.format");
    return { type: "json_object" };
  }
  if (type === "json_schema") {
    closedKeys(format, JSON_SCHEMA_KEYS, "text.format");
    const schema: Json = {
      name: stringAt(ownData(format, "name"), "text.format.name"),
      schema: objectAt(ownData(format, "schema"), "text.format.schema"),
    };
    const description = ownData(format, "description");
    const strict = ownData(format, "strict");
    if (!isUnset(description)) {
      schema.description = stringAt(description, "text.format.description");
    }
    if (!isUnset(strict)) schema.strict = booleanAt(strict, "text.format.strict");
    return { type: "json_schema", json_schema: schema };
  }
  return refuse("text.format.type", "invalid_value", `${quote(type)} is not a text format`);
};

/** `include` entries this translation honours. */
const LOGPROBS_INCLUDE = "message.output_text.logprobs";

// ---------------------------------------------------------------------------------------------
// the body

/** Every top-level key of a Responses request (openai-node's `ResponseCreateParams`). */
const TOP_LEVEL_KEYS = new Set([
  "access_programs",
  "background",
  "background_options",
  "context_management",
  "conversation",
  "image",
  "include",
  "input",
  "instructions",
  "max_output_tokens",
  "max_tool_calls",
  "metadata",
  "model",
  "moderation",
  "parallel_tool_calls",
  "previous_response_id",
  "prompt",
  "prompt_cache_key",
  "prompt_cache_options",
  "prompt_cache_retention",
  "reasoning",
  "safety_identifier",
  "service_tier",
  "store",
  "stream",
  "stream_options",
  "temperature",
  "text",
  "tool_choice",
  "tools",
  "top_logprobs",
  "top_p",
  "truncation",
  "user",
]);

const NO_STATE = "answers are not stored (the router keeps no state): send the whole conversation";

/**
 * The client's own fields, not the Responses API's: left for the client to read, exactly as on
 * the chat door (the handler takes them out before this translation; should one still be here,
 * it goes on unchanged to where the chat door's would).
 */
const CLIENT_FIELDS = ["security_tier", "api_key", "base_url"] as const;

const KNOWN_KEYS: ReadonlySet<string> = new Set([...TOP_LEVEL_KEYS, ...CLIENT_FIELDS]);

const translate = (body: Json): ResponsesTranslation => {
  closedKeys(body, KNOWN_KEYS, "");
  const get = (key: string): unknown => ownData(body, key);

  // What needs state or OpenAI's servers.
  onlyUnset(get("previous_response_id"), "previous_response_id", NO_STATE);
  onlyUnset(get("conversation"), "conversation", NO_STATE);
  onlyUnset(get("store"), "store", "answers are not stored; send store: false or leave it", false);
  onlyUnset(get("background"), "background", "background mode needs stored answers", false);
  onlyUnset(get("background_options"), "background_options", "background mode is not served");
  onlyUnset(get("prompt"), "prompt", "stored prompt templates live on OpenAI's servers");
  onlyUnset(get("context_management"), "context_management", "compaction runs on OpenAI's servers");
  onlyUnset(get("max_tool_calls"), "max_tool_calls", "one chat completion makes the calls at once");
  onlyUnset(get("truncation"), "truncation", "the router does not truncate input", "disabled");
  onlyUnset(get("prompt_cache_options"), "prompt_cache_options", "it has no chat form");
  onlyUnset(get("access_programs"), "access_programs", "it has no chat form");
  onlyUnset(get("image"), "image", "image generation runs on OpenAI's servers");
  onlyUnset(get("moderation"), "moderation", "moderation runs on OpenAI's servers");

  const request: Json = { model: stringAt(get("model"), "model") };
  const input = get("input");
  if (input === undefined) refuse("input", "missing_required_parameter", "is required");
  const messages = translateInput(input);
  const instructions = get("instructions");
  if (!isUnset(instructions)) {
    messages.unshift({ role: "system", content: stringAt(instructions, "instructions") });
  }
  request.messages = messages;

  const setNumber = (key: string): number | null => {
    const value = get(key);
    if (isUnset(value)) return null;
    const n = numberAt(value, key);
    request[key] = n;
    return n;
  };
  const temperature = setNumber("temperature");
  const topP = setNumber("top_p");
  // The protocol names `max_tokens` (every OpenAI-compatible server reads it; vLLM and
  // llama.cpp do not all read `max_completion_tokens`).
  const maxTokens = get("max_output_tokens");
  if (!isUnset(maxTokens)) {
    request.max_tokens = integerAt(maxTokens, "max_output_tokens", 1, Number.MAX_SAFE_INTEGER);
  }
  for (const key of ["user", "safety_identifier", "prompt_cache_key", "service_tier"]) {
    const value = get(key);
    if (!isUnset(value)) request[key] = stringAt(value, key);
  }
  for (const key of CLIENT_FIELDS) if (Object.hasOwn(body, key)) request[key] = body[key];
  const retention = get("prompt_cache_retention");
  if (!isUnset(retention)) {
    request.prompt_cache_retention = stringAt(retention, "prompt_cache_retention");
  }

  let echoTools: Json[] = [];
  const tools = get("tools");
  if (!isUnset(tools)) {
    const translated = translateTools(tools);
    if (translated.chat.length > 0) request.tools = translated.chat;
    echoTools = translated.echo;
  }
  const toolChoice = get("tool_choice");
  if (!isUnset(toolChoice)) request.tool_choice = translateToolChoice(toolChoice);
  const parallel = get("parallel_tool_calls");
  if (!isUnset(parallel)) request.parallel_tool_calls = booleanAt(parallel, "parallel_tool_calls");

  const text = get("text");
  let echoText: Json = { format: { type: "text" } };
  if (!isUnset(text)) {
    const config = objectAt(text, "text");
    closedKeys(config, new Set(["format", "verbosity"]), "text");
    const format = ownData(config, "format");
    const responseFormat = translateFormat(format);
    if (responseFormat !== undefined) request.response_format = responseFormat;
    const verbosity = ownData(config, "verbosity");
    if (!isUnset(verbosity)) request.verbosity = stringAt(verbosity, "text.verbosity");
    echoText = { ...(isUnset(format) ? echoText : { format }), verbosity: verbosity ?? "medium" };
  }

  const reasoning = get("reasoning");
  let effort: unknown = null;
  if (!isUnset(reasoning)) {
    const config = objectAt(reasoning, "reasoning");
    closedKeys(config, new Set(["effort", "summary", "generate_summary"]), "reasoning");
    const why = "the router sends reasoning text, not summaries";
    onlyUnset(ownData(config, "summary"), "reasoning.summary", why);
    onlyUnset(ownData(config, "generate_summary"), "reasoning.generate_summary", why);
    effort = ownData(config, "effort") ?? null;
    if (effort !== null) request.reasoning_effort = stringAt(effort, "reasoning.effort");
  }

  let logprobs = false;
  const include = get("include");
  if (!isUnset(include)) {
    arrayAt(include, "include").forEach((entry, i) => {
      const value = stringAt(entry, `include[${i}]`);
      if (value !== LOGPROBS_INCLUDE) {
        unsupported(
          `include[${i}]`,
          `${quote(value)} cannot be honoured (only ${LOGPROBS_INCLUDE})`,
        );
      }
      logprobs = true;
    });
  }
  const topLogprobs = get("top_logprobs");
  let echoTopLogprobs = 0;
  if (!isUnset(topLogprobs)) {
    echoTopLogprobs = integerAt(topLogprobs, "top_logprobs", 0, 20);
    request.top_logprobs = echoTopLogprobs;
    logprobs = true;
  }
  if (logprobs) request.logprobs = true;

  const metadata = get("metadata");
  let echoMetadata: Json = {};
  if (!isUnset(metadata)) {
    const entries = objectAt(metadata, "metadata");
    for (const key of Object.keys(entries)) stringAt(entries[key], `metadata.${keyName(key)}`);
    echoMetadata = entries;
  }

  const stream = get("stream");
  const streamOptions = get("stream_options");
  if (!isUnset(streamOptions)) {
    // Obfuscation pads deltas against an observer of the network; these events are made
    // locally from the whole decrypted answer, so there is nothing to pad.
    const options = objectAt(streamOptions, "stream_options");
    closedKeys(options, new Set(["include_obfuscation"]), "stream_options");
    const obfuscation = ownData(options, "include_obfuscation");
    if (!isUnset(obfuscation)) booleanAt(obfuscation, "stream_options.include_obfuscation");
  }

  return {
    ok: true,
    request: request as ChatCompletionRequest,
    stream: isUnset(stream) ? false : booleanAt(stream, "stream"),
    echo: {
      tools: echoTools,
      tool_choice: isUnset(toolChoice) ? "auto" : toolChoice,
      temperature,
      top_p: topP,
      max_output_tokens: isUnset(maxTokens) ? null : maxTokens as number,
      parallel_tool_calls: isUnset(parallel) ? true : parallel as boolean,
      text: echoText,
      metadata: echoMetadata,
      reasoning: { effort, summary: null },
      top_logprobs: echoTopLogprobs,
      logprobs,
    },
  };
};

/**
 * Translates a Responses request body into the chat completion request to send.
 *
 * - `input`: a string is one user message; a list holds messages (roles `user`, `system`,
 *   `developer`, `assistant`; `input_text` and `input_image` parts, `output_text` and `refusal`
 *   parts of an echoed answer), `function_call` items (adjacent ones and the assistant text
 *   before them join into one assistant message with `tool_calls`), `function_call_output`
 *   items (`tool` messages) and `reasoning` items of this door's own answers (`reasoning_content`
 *   of the assistant message that follows).
 * - `instructions`: a `system` message first. `max_output_tokens`: `max_tokens` (the name the
 *   protocol lists). `temperature`, `top_p`, `user`, `safety_identifier`, `service_tier`,
 *   `prompt_cache_key`, `prompt_cache_retention`, `parallel_tool_calls`: the same names.
 * - `tools` (function tools only) nested as Chat's `{ type, function: { … } }`; `tool_choice`
 *   modes as they are, `{ type: "function", name }` and `allowed_tools` nested.
 * - `text.format`: `json_schema` and `json_object` as `response_format`; `text.verbosity` as
 *   `verbosity`. `reasoning.effort` as `reasoning_effort`. `include:
 *   ["message.output_text.logprobs"]` and `top_logprobs` as `logprobs` / `top_logprobs`.
 * - `metadata` is reported back in the Response (it is not sent to the model); `stream` chooses
 *   the event stream; `stream_options.include_obfuscation` is accepted (nothing to pad).
 *
 * Anything else is refused with the field named (see the module's documentation). Only own
 * properties are read, so a polluted `Object.prototype` changes nothing.
 *
 * The client's own fields (`security_tier`, `api_key`, `base_url`) are not translated: when
 * present they go on unchanged, for the client to read as it does on the chat door.
 *
 * @param body The parsed JSON body.
 * @returns The translation, or the refusal naming the field.
 */
export const translateResponsesRequest = (
  body: Record<string, unknown>,
): ResponsesTranslation | ResponsesRefusal => {
  try {
    return translate(body);
  } catch (error) {
    if (error instanceof Refused) return error.refusal;
    throw error;
  }
};
