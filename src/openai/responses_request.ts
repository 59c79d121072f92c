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
import type { ChatCompletionRequest, ChatMessage, Tool, ToolCall } from "../protocol/chat.ts";
import { isJsonObject } from "../protocol/json.ts";

type Json = Record<string, unknown>;

/** OpenAI's error codes for a refused parameter. */
export type ResponsesRefusalCode =
  | "unknown_parameter"
  | "unsupported_parameter"
  | "invalid_type"
  | "invalid_value"
  | "missing_required_parameter";

/** Why a Responses request cannot be translated: the field, OpenAI's code, a message naming it. */
export interface ResponsesRefusal {
  /** Always `false`. */
  readonly ok: false;
  /** The field, as OpenAI names it in `error.param`: e.g. `input[2].content[0].type`. */
  readonly param: string;
  /** OpenAI's code for it. */
  readonly code: ResponsesRefusalCode;
  /** What is wrong, naming the field; never a prompt's text. */
  readonly message: string;
}

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

/** Thrown inside this module only, caught by {@linkcode translateResponsesRequest}. */
class Refused {
  constructor(readonly refusal: ResponsesRefusal) {}
}

const MAX_NAMED = 64;

/** A caller's string in a message: quoted, cut to 64 characters. */
const quote = (value: string): string =>
  JSON.stringify(value.length > MAX_NAMED ? `${value.slice(0, MAX_NAMED)}…` : value);

const refuse = (param: string, code: ResponsesRefusalCode, detail: string): never => {
  throw new Refused({
    ok: false,
    param,
    code,
    message: `Cannot translate the Responses request: ${param} ${detail}`,
  });
};

const unsupported = (param: string, why: string): never =>
  refuse(param, "unsupported_parameter", `is not supported: ${why}`);

/** The own property `key` of `o` (a polluted prototype is never read). */
const own = (o: Json, key: string): unknown => Object.hasOwn(o, key) ? o[key] : undefined;

/** Refuses every own key of `o` that is not in `known`. */
const closedKeys = (o: Json, known: ReadonlySet<string>, at: string): void => {
  for (const key of Object.keys(o)) {
    if (!known.has(key)) {
      refuse(at === "" ? key : `${at}.${key}`, "unknown_parameter", "is not a known parameter");
    }
  }
};

const objectAt = (value: unknown, param: string): Json =>
  isJsonObject(value) ? value : refuse(param, "invalid_type", "must be an object");

const arrayAt = (value: unknown, param: string): ReadonlyArray<unknown> =>
  Array.isArray(value) ? value : refuse(param, "invalid_type", "must be an array");

const stringAt = (value: unknown, param: string): string =>
  typeof value === "string" ? value : refuse(param, "invalid_type", "must be a string");

const numberAt = (value: unknown, param: string): number =>
  typeof value === "number" && Number.isFinite(value)
    ? value
    : refuse(param, "invalid_type", "must be a number");

const integerAt = (value: unknown, param: string, min: number, max: number): number =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? value
    : refuse(param, "invalid_value", `must be an integer from ${min} to ${max}`);

const booleanAt = (value: unknown, param: string): boolean =>
  typeof value === "boolean" ? value : refuse(param, "invalid_type", "must be a boolean");

/** `null` and an absent value are the same: the parameter is not set. */
const isUnset = (value: unknown): value is null | undefined =>
  value === undefined || value === null;

/** Accepts only an unset value (or `allowed`), else refuses with `why`. */
const onlyUnset = (value: unknown, param: string, why: string, allowed?: unknown): void => {
  if (!isUnset(value) && value !== allowed) unsupported(param, why);
};

/** Built-in tools (and tool choices) run on OpenAI's servers; a NOMYO router has none. */
const BUILT_IN = "built-in tools run on OpenAI's servers; only function tools can be sent";

// ---------------------------------------------------------------------------------------------
// input

/** The assistant turn being assembled: text, reasoning and calls of adjacent output items. */
interface Turn {
  content?: string;
  refusal?: string;
  reasoning?: string;
  readonly toolCalls: ToolCall[];
}

const MESSAGE_KEYS = new Set(["type", "role", "content", "id", "status", "phase"]);
const FUNCTION_CALL_KEYS = new Set([
  "type",
  "id",
  "call_id",
  "name",
  "arguments",
  "status",
  "namespace",
  "caller",
  "async",
]);
const FUNCTION_CALL_OUTPUT_KEYS = new Set([
  "type",
  "id",
  "call_id",
  "output",
  "status",
  "name",
  "namespace",
  "caller",
]);
const REASONING_KEYS = new Set(["type", "id", "summary", "content", "encrypted_content", "status"]);
const TEXT_PART_KEYS = new Set(["type", "text"]);
const OUTPUT_TEXT_KEYS = new Set(["type", "text", "annotations", "logprobs"]);
const REFUSAL_KEYS = new Set(["type", "refusal"]);
const IMAGE_KEYS = new Set(["type", "image_url", "detail", "file_id"]);
const IMAGE_DETAILS = new Set(["auto", "low", "high"]);

/** `caller` and `namespace` of a call or its output: only what Chat Completions can express. */
const directCallOnly = (item: Json, at: string): void => {
  onlyUnset(own(item, "namespace"), `${at}.namespace`, "tool namespaces have no chat form");
  const caller = own(item, "caller");
  if (!isUnset(caller) && !(isJsonObject(caller) && own(caller, "type") === "direct")) {
    unsupported(`${at}.caller`, "programmatic tool calling runs on OpenAI's servers");
  }
};

/** An `input_image` part as a chat `image_url` part. */
const imagePart = (part: Json, at: string): Json => {
  closedKeys(part, IMAGE_KEYS, at);
  onlyUnset(own(part, "file_id"), `${at}.file_id`, "no files are stored; send image_url");
  const url = stringAt(own(part, "image_url"), `${at}.image_url`);
  const detail = own(part, "detail");
  if (isUnset(detail)) return { type: "image_url", image_url: { url } };
  const level = stringAt(detail, `${at}.detail`);
  if (!IMAGE_DETAILS.has(level)) {
    unsupported(`${at}.detail`, `${quote(level)} has no chat form (auto, low or high)`);
  }
  return { type: "image_url", image_url: { url, detail: level } };
};

/** A text part (`input_text`, or `output_text` of an echoed answer): its text. */
const partText = (part: Json, type: string, at: string): string => {
  closedKeys(part, type === "output_text" ? OUTPUT_TEXT_KEYS : TEXT_PART_KEYS, at);
  return stringAt(own(part, "text"), `${at}.text`);
};

const partType = (part: unknown, at: string): [Json, string] => {
  const p = objectAt(part, at);
  return [p, stringAt(own(p, "type"), `${at}.type`)];
};

/** The content parts of a user message as chat parts: text and images. */
const userParts = (content: ReadonlyArray<unknown>, at: string): Json[] =>
  content.map((raw, j) => {
    const pat = `${at}[${j}]`;
    const [part, type] = partType(raw, pat);
    if (type === "input_text") return { type: "text", text: partText(part, type, pat) };
    if (type === "input_image") return imagePart(part, pat);
    if (type === "input_file") return unsupported(pat, "input_file parts cannot be sent");
    return refuse(`${pat}.type`, "invalid_value", `${quote(type)} is not a user content part`);
  });

/** The content parts of a system or developer message: text only. */
const instructionParts = (content: ReadonlyArray<unknown>, at: string): Json[] =>
  content.map((raw, j) => {
    const pat = `${at}[${j}]`;
    const [part, type] = partType(raw, pat);
    if (type === "input_text") return { type: "text", text: partText(part, type, pat) };
    return unsupported(`${pat}.type`, `${quote(type)} parts cannot be sent in this role`);
  });

/** The text and refusal of an assistant message's parts (they join into one chat message). */
const assistantParts = (
  content: ReadonlyArray<unknown>,
  at: string,
): { text: string; refusal?: string } => {
  let text = "";
  let refusal: string | undefined;
  content.forEach((raw, j) => {
    const pat = `${at}[${j}]`;
    const [part, type] = partType(raw, pat);
    if (type === "output_text" || type === "input_text") text += partText(part, type, pat);
    else if (type === "refusal") {
      closedKeys(part, REFUSAL_KEYS, pat);
      refusal = (refusal ?? "") + stringAt(own(part, "refusal"), `${pat}.refusal`);
    } else unsupported(`${pat}.type`, `${quote(type)} parts cannot be sent as the assistant's`);
  });
  return refusal === undefined ? { text } : { text, refusal };
};

const ROLES = new Set(["user", "system", "developer", "assistant"]);

/** Translates `input` (a string, or messages and items) into chat messages. */
const translateInput = (input: unknown): ChatMessage[] => {
  if (typeof input === "string") return [{ role: "user", content: input }];
  const items = arrayAt(input, "input");
  const messages: ChatMessage[] = [];
  let turn: Turn | undefined;
  const flush = (): void => {
    if (turn === undefined) return;
    const message: Json = { role: "assistant", content: turn.content ?? null };
    if (turn.refusal !== undefined) message.refusal = turn.refusal;
    if (turn.reasoning !== undefined) message.reasoning_content = turn.reasoning;
    if (turn.toolCalls.length > 0) message.tool_calls = turn.toolCalls;
    messages.push(message as ChatMessage);
    turn = undefined;
  };
  items.forEach((raw, i) => {
    const at = `input[${i}]`;
    const item = objectAt(raw, at);
    const type = own(item, "type");
    if (isUnset(type) || type === "message") {
      closedKeys(item, MESSAGE_KEYS, at);
      const role = stringAt(own(item, "role"), `${at}.role`);
      if (!ROLES.has(role)) refuse(`${at}.role`, "invalid_value", `${quote(role)} is not a role`);
      onlyUnset(own(item, "phase"), `${at}.phase`, "phases have no chat form");
      const content = own(item, "content");
      if (role === "assistant") {
        const { text, refusal } = typeof content === "string"
          ? { text: content, refusal: undefined }
          : assistantParts(arrayAt(content, `${at}.content`), `${at}.content`);
        if (turn?.content !== undefined || turn?.refusal !== undefined || turn?.toolCalls.length) {
          flush();
        }
        turn ??= { toolCalls: [] };
        turn.content = text;
        if (refusal !== undefined) turn.refusal = refusal;
        return;
      }
      flush();
      if (typeof content === "string") return void messages.push({ role, content });
      const parts = arrayAt(content, `${at}.content`);
      messages.push({
        role,
        content: role === "user"
          ? userParts(parts, `${at}.content`)
          : instructionParts(parts, `${at}.content`),
      });
      return;
    }
    if (type === "function_call") {
      closedKeys(item, FUNCTION_CALL_KEYS, at);
      directCallOnly(item, at);
      onlyUnset(own(item, "async"), `${at}.async`, "asynchronous calls have no chat form", false);
      const call: ToolCall = {
        id: stringAt(own(item, "call_id"), `${at}.call_id`),
        type: "function",
        function: {
          name: stringAt(own(item, "name"), `${at}.name`),
          arguments: stringAt(own(item, "arguments"), `${at}.arguments`),
        },
      };
      turn ??= { toolCalls: [] };
      turn.toolCalls.push(call);
      return;
    }
    if (type === "function_call_output") {
      closedKeys(item, FUNCTION_CALL_OUTPUT_KEYS, at);
      directCallOnly(item, at);
      flush();
      const callId = stringAt(own(item, "call_id"), `${at}.call_id`);
      const output = own(item, "output");
      const content = typeof output === "string"
        ? output
        : arrayAt(output, `${at}.output`).map((raw, j) => {
          const pat = `${at}.output[${j}]`;
          const [part, partKind] = partType(raw, pat);
          if (partKind === "input_text") {
            return { type: "text", text: partText(part, partKind, pat) };
          }
          return unsupported(`${pat}.type`, "a chat tool message carries text only");
        });
      messages.push({ role: "tool", tool_call_id: callId, content });
      return;
    }
    if (type === "reasoning") {
      closedKeys(item, REASONING_KEYS, at);
      onlyUnset(
        own(item, "encrypted_content"),
        `${at}.encrypted_content`,
        "OpenAI's encrypted reasoning can only be read by OpenAI",
      );
      const summary = own(item, "summary");
      if (!isUnset(summary) && arrayAt(summary, `${at}.summary`).length > 0) {
        unsupported(`${at}.summary`, "reasoning summaries have no chat form");
      }
      const content = own(item, "content");
      const text = isUnset(content) ? "" : arrayAt(content, `${at}.content`).map((raw, j) => {
        const pat = `${at}.content[${j}]`;
        const [part, partKind] = partType(raw, pat);
        if (partKind !== "reasoning_text") {
          refuse(`${pat}.type`, "invalid_value", `${quote(partKind)} is not reasoning text`);
        }
        return partText(part, "input_text", pat);
      }).join("");
      if (turn !== undefined) flush();
      turn = { toolCalls: [], reasoning: text };
      return;
    }
    if (type === "item_reference") {
      return unsupported(
        at,
        "an item_reference needs stored answers and none are stored: send the item itself " +
          "(with the AI SDK: providerOptions.openai.store = false)",
      );
    }
    return unsupported(
      `${at}.type`,
      typeof type === "string"
        ? `${quote(type)} items cannot be sent (only messages, function calls and their outputs)`
        : "must be a string",
    );
  });
  flush();
  return messages;
};

// ---------------------------------------------------------------------------------------------
// tools

const FUNCTION_TOOL_KEYS = new Set([
  "type",
  "name",
  "description",
  "parameters",
  "strict",
  "allowed_callers",
  "async",
  "defer_loading",
  "output_schema",
]);

/** Responses' flat function tools as Chat's nested ones, and their echo. */
const translateTools = (value: unknown): { chat: Tool[]; echo: Json[] } => {
  const chat: Tool[] = [];
  const echo: Json[] = [];
  arrayAt(value, "tools").forEach((raw, i) => {
    const at = `tools[${i}]`;
    const [tool, type] = partType(raw, at);
    if (type !== "function") {
      return unsupported(`${at}.type`, `${quote(type)}: ${BUILT_IN}`);
    }
    closedKeys(tool, FUNCTION_TOOL_KEYS, at);
    const callers = own(tool, "allowed_callers");
    if (!isUnset(callers)) {
      const list = arrayAt(callers, `${at}.allowed_callers`);
      if (list.some((c) => c !== "direct")) {
        unsupported(`${at}.allowed_callers`, "programmatic tool calling runs on OpenAI's servers");
      }
    }
    onlyUnset(own(tool, "async"), `${at}.async`, "asynchronous calls have no chat form", false);
    onlyUnset(
      own(tool, "defer_loading"),
      `${at}.defer_loading`,
      "tool search has no chat form",
      false,
    );
    onlyUnset(
      own(tool, "output_schema"),
      `${at}.output_schema`,
      "output schemas have no chat form",
    );
    const name = stringAt(own(tool, "name"), `${at}.name`);
    const description = own(tool, "description");
    const parameters = own(tool, "parameters");
    const strict = own(tool, "strict");
    const fn: Json = { name };
    if (!isUnset(description)) fn.description = stringAt(description, `${at}.description`);
    if (!isUnset(parameters)) fn.parameters = objectAt(parameters, `${at}.parameters`);
    if (!isUnset(strict)) fn.strict = booleanAt(strict, `${at}.strict`);
    chat.push({ type: "function", function: fn as Tool["function"] });
    echo.push({
      type: "function",
      name,
      description: fn.description ?? null,
      parameters: fn.parameters ?? null,
      strict: fn.strict ?? null,
    });
  });
  return { chat, echo };
};

const TOOL_CHOICE_MODES = new Set(["none", "auto", "required"]);

/** `tool_choice`: the modes as they are, a named function and `allowed_tools` nested. */
const translateToolChoice = (value: unknown): unknown => {
  if (typeof value === "string") {
    return TOOL_CHOICE_MODES.has(value)
      ? value
      : refuse("tool_choice", "invalid_value", `${quote(value)} is not none, auto or required`);
  }
  const [choice, type] = partType(value, "tool_choice");
  const named = (o: Json, at: string): Json => {
    closedKeys(o, new Set(["type", "name"]), at);
    return { type: "function", function: { name: stringAt(own(o, "name"), `${at}.name`) } };
  };
  if (type === "function") return named(choice, "tool_choice");
  if (type === "allowed_tools") {
    closedKeys(choice, new Set(["type", "mode", "tools"]), "tool_choice");
    const mode = stringAt(own(choice, "mode"), "tool_choice.mode");
    if (mode !== "auto" && mode !== "required") {
      refuse("tool_choice.mode", "invalid_value", "must be auto or required");
    }
    const tools = arrayAt(own(choice, "tools"), "tool_choice.tools").map((raw, i) => {
      const at = `tool_choice.tools[${i}]`;
      const [tool, kind] = partType(raw, at);
      return kind === "function" ? named(tool, at) : unsupported(`${at}.type`, BUILT_IN);
    });
    return { type: "allowed_tools", allowed_tools: { mode, tools } };
  }
  return unsupported("tool_choice.type", `${quote(type)}: ${BUILT_IN}`);
};

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
      name: stringAt(own(format, "name"), "text.format.name"),
      schema: objectAt(own(format, "schema"), "text.format.schema"),
    };
    const description = own(format, "description");
    const strict = own(format, "strict");
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

const translate = (body: Json): ResponsesTranslation => {
  closedKeys(body, TOP_LEVEL_KEYS, "");
  const get = (key: string): unknown => own(body, key);

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

  const setNumber = (key: string, to: string = key): number | null => {
    const value = get(key);
    if (isUnset(value)) return null;
    const n = numberAt(value, key);
    request[to] = n;
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
    const format = own(config, "format");
    const responseFormat = translateFormat(format);
    if (responseFormat !== undefined) request.response_format = responseFormat;
    const verbosity = own(config, "verbosity");
    if (!isUnset(verbosity)) request.verbosity = stringAt(verbosity, "text.verbosity");
    echoText = { ...(isUnset(format) ? echoText : { format }), verbosity: verbosity ?? "medium" };
  }

  const reasoning = get("reasoning");
  let effort: unknown = null;
  if (!isUnset(reasoning)) {
    const config = objectAt(reasoning, "reasoning");
    closedKeys(config, new Set(["effort", "summary", "generate_summary"]), "reasoning");
    const why = "the router sends reasoning text, not summaries";
    onlyUnset(own(config, "summary"), "reasoning.summary", why);
    onlyUnset(own(config, "generate_summary"), "reasoning.generate_summary", why);
    effort = own(config, "effort") ?? null;
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
    for (const key of Object.keys(entries)) stringAt(entries[key], `metadata.${key}`);
    echoMetadata = entries;
  }

  const stream = get("stream");
  const streamOptions = get("stream_options");
  if (!isUnset(streamOptions)) {
    // Obfuscation pads deltas against an observer of the network; these events are made
    // locally from the whole decrypted answer, so there is nothing to pad.
    const options = objectAt(streamOptions, "stream_options");
    closedKeys(options, new Set(["include_obfuscation"]), "stream_options");
    const obfuscation = own(options, "include_obfuscation");
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
 * @param body The parsed JSON body, without the client's own fields (`security_tier` …).
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
