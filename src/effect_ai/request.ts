/**
 * `@effect/ai` provider options → an OpenAI chat completion request: the prompt's messages, the
 * toolkit's tools with their JSON Schema (Effect's `JSONSchema`, through `Tool.getJsonSchema`),
 * the tool choice, and `response_format: json_schema` when `generateObject` asks for an object.
 *
 * @module
 */
import * as AiError from "@effect/ai/AiError";
import type * as LanguageModel from "@effect/ai/LanguageModel";
import type * as Prompt from "@effect/ai/Prompt";
import * as AiTool from "@effect/ai/Tool";
import * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import type * as AST from "effect/SchemaAST";
import { encodeBase64 } from "../protocol/base64.ts";
import type { ChatCompletionRequest, ChatMessage, Tool, ToolCall } from "../protocol/chat.ts";
import { type RequestDoor, splitRequest } from "../protocol/request_fields.ts";
import { MODULE } from "./ai_error.ts";

/** Fields the adapter sets itself, and what to do instead: in `Config.params` they are refused. */
const ADAPTER_FIELDS: Readonly<Record<string, string>> = {
  model: "use layer({ model }) or config.model",
  messages: "the prompt gives them",
  tools: "give a Toolkit",
  tool_choice: "give the Toolkit's toolChoice",
  response_format: "use LanguageModel.generateObject",
};

/**
 * The client's fields are settings of the language model, not model parameters: in `params`
 * each is refused with the setting to use instead.
 */
const PARAMS_DOOR: RequestDoor = {
  action: "use language model settings",
  applies: [],
  refusals: {
    securityTier: "a setting, not a model parameter: use config.securityTier",
    apiKey: "a setting, not a model parameter: use config.apiKey",
    baseUrl: "a setting, not a model parameter: use config.baseUrl",
    stream: "use LanguageModel.streamText",
    streamOptions: "use LanguageModel.streamText",
  },
};

/**
 * Checks `Config.params` by the request contract: an object whose own fields are OpenAI
 * parameters. A client field (`security_tier`, `apiKey`, `stream: true`, …) or a field the
 * adapter sets (`model`, `messages`, `tools`, `tool_choice`, `response_format`) is a
 * `TypeError` naming it: never sent, never silently dropped.
 *
 * @param params The parameters (`undefined`: none).
 * @returns A fresh object of the parameters, or the `TypeError`.
 */
export const checkParams = (
  params: unknown,
): Either.Either<Readonly<Record<string, unknown>>, TypeError> => {
  if (params === undefined) return Either.right({});
  const split = splitRequest(params, PARAMS_DOOR);
  if (Either.isLeft(split)) return Either.left(split.left);
  const body = split.right.body as Readonly<Record<string, unknown>>;
  const reserved = Object.keys(body).find((key) => Object.hasOwn(ADAPTER_FIELDS, key));
  return reserved === undefined ? Either.right(body) : Either.left(
    new TypeError(
      `Cannot use language model settings: params.${reserved} is set by the adapter ` +
        `(${ADAPTER_FIELDS[reserved]})`,
    ),
  );
};

const malformedInput = (description: string): AiError.MalformedInput =>
  new AiError.MalformedInput({ module: MODULE, method: "prepareMessages", description });

/** A content part of a user message. */
type ContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image_url"; readonly image_url: { readonly url: string } };

/** An image part as OpenAI's `image_url` content part; other files are refused. */
const imagePart = (part: Prompt.FilePart): Effect.Effect<ContentPart, AiError.MalformedInput> => {
  if (!part.mediaType.startsWith("image/")) {
    return Effect.fail(malformedInput(
      `Cannot send prompt: files of type ${part.mediaType} are not supported (images only)`,
    ));
  }
  const mediaType = part.mediaType === "image/*" ? "image/jpeg" : part.mediaType;
  const data = part.data;
  const url = data instanceof URL
    ? data.toString()
    : data instanceof Uint8Array
    ? `data:${mediaType};base64,${encodeBase64(data)}`
    : /^(data:|https?:\/\/)/.test(data)
    ? data
    : `data:${mediaType};base64,${data}`;
  return Effect.succeed({ type: "image_url", image_url: { url } });
};

const userMessage = (
  message: Prompt.UserMessage,
): Effect.Effect<ChatMessage, AiError.MalformedInput> => {
  const [only] = message.content;
  if (message.content.length === 1 && only?.type === "text") {
    return Effect.succeed({ role: "user", content: only.text });
  }
  return Effect.map(
    Effect.forEach(
      message.content,
      (part): Effect.Effect<ContentPart, AiError.MalformedInput> =>
        part.type === "text" ? Effect.succeed({ type: "text", text: part.text }) : imagePart(part),
    ),
    (content) => ({ role: "user", content }),
  );
};

/** `value` as JSON text; a value JSON cannot carry (a cycle, a BigInt) is refused. */
const toJson = (value: unknown, what: string): Effect.Effect<string, AiError.MalformedInput> =>
  Effect.try({
    try: () => JSON.stringify(value) ?? "null",
    // No cause: the error could quote the (confidential) value.
    catch: () => malformedInput(`Cannot send prompt: ${what} is not JSON`),
  });

const assistantMessage = (
  message: Prompt.AssistantMessage,
): Effect.Effect<ChatMessage, AiError.MalformedInput> =>
  Effect.gen(function* () {
    let text = "";
    const toolCalls: ToolCall[] = [];
    for (const part of message.content) {
      switch (part.type) {
        case "text":
          text += part.text;
          break;
        case "tool-call":
          if (!part.providerExecuted) {
            toolCalls.push({
              id: part.id,
              type: "function",
              function: {
                name: part.name,
                arguments: yield* toJson(part.params ?? {}, `the params of tool call ${part.id}`),
              },
            });
          }
          break;
        case "file":
          return yield* malformedInput("Cannot send prompt: assistant messages cannot hold files");
        // Reasoning is not sent back (Chat Completions has no field for it); results of
        // provider-executed tools do not occur with this provider.
        default:
          break;
      }
    }
    const reply: ChatMessage = toolCalls.length === 0
      ? { role: "assistant", content: text }
      : { role: "assistant", content: text.length > 0 ? text : null, tool_calls: toolCalls };
    return reply;
  });

/**
 * The prompt as chat messages: system and user messages, assistant messages with their text
 * and tool calls, and one `tool` message per tool result.
 *
 * @param prompt The prompt.
 * @returns The messages, or `MalformedInput` for content Chat Completions cannot carry.
 */
export const prepareMessages = (
  prompt: Prompt.Prompt,
): Effect.Effect<ReadonlyArray<ChatMessage>, AiError.MalformedInput> =>
  Effect.map(
    Effect.forEach(
      prompt.content,
      (message): Effect.Effect<ReadonlyArray<ChatMessage>, AiError.MalformedInput> => {
        switch (message.role) {
          case "system":
            return Effect.succeed([{ role: "system", content: message.content }]);
          case "user":
            return Effect.map(userMessage(message), (m) => [m]);
          case "assistant":
            return Effect.map(assistantMessage(message), (m) => [m]);
          case "tool":
            return Effect.forEach(message.content, (part) =>
              Effect.map(
                toJson(part.result, `the result of tool call ${part.id}`),
                (content): ChatMessage => ({ role: "tool", tool_call_id: part.id, content }),
              ));
        }
      },
    ),
    (groups) => groups.flat(),
  );

/** The `tools` and `tool_choice` of a request (both absent without tools). */
export interface PreparedTools {
  /** The functions the model may call. */
  readonly tools?: ReadonlyArray<Tool>;
  /** OpenAI's `tool_choice`. */
  readonly tool_choice?: unknown;
}

/**
 * The toolkit's tools as OpenAI functions, and the tool choice.
 *
 * @param options The provider options.
 * @returns The fields, or `MalformedInput` for provider-defined tools (none exist for NOMYO).
 */
export const prepareTools = (
  options: LanguageModel.ProviderOptions,
): Effect.Effect<PreparedTools, AiError.MalformedInput> => {
  if (options.tools.length === 0) return Effect.succeed({});
  const tools: Tool[] = [];
  for (const tool of options.tools) {
    if (!AiTool.isUserDefined(tool)) {
      return Effect.fail(
        new AiError.MalformedInput({
          module: MODULE,
          method: "prepareTools",
          description: `Cannot send tools: provider-defined tool ${tool.name} is not supported`,
        }),
      );
    }
    const description = tool.description ??
      AiTool.getDescriptionFromSchemaAst(tool.parametersSchema.ast);
    tools.push({
      type: "function",
      function: {
        name: tool.name,
        ...(description === undefined ? {} : { description }),
        parameters: jsonSchemaOf(tool.parametersSchema.ast),
      },
    });
  }
  const choice = options.toolChoice;
  if (choice === "auto" || choice === "none" || choice === "required") {
    return Effect.succeed({ tools, tool_choice: choice });
  }
  if ("tool" in choice) {
    return Effect.succeed({
      tools,
      tool_choice: { type: "function", function: { name: choice.tool } },
    });
  }
  // `oneOf`: LanguageModel already narrowed `tools` to the allowed ones.
  return Effect.succeed({ tools, tool_choice: choice.mode === "required" ? "required" : "auto" });
};

/** Effect's JSON Schema of a schema AST (as `Tool.getJsonSchema` makes it), as a plain object. */
const jsonSchemaOf = (ast: AST.AST): { readonly [key: string]: unknown } =>
  AiTool.getJsonSchemaFromSchemaAst(ast) as unknown as { readonly [key: string]: unknown };

/**
 * `response_format` for `generateObject` (a JSON Schema of the requested object), else nothing.
 *
 * @param options The provider options.
 * @returns `{ response_format }` or `{}`.
 */
export const prepareResponseFormat = (
  options: LanguageModel.ProviderOptions,
): { readonly response_format?: unknown } => {
  const format = options.responseFormat;
  if (format.type !== "json") return {};
  return {
    response_format: {
      type: "json_schema",
      json_schema: {
        name: format.objectName,
        description: AiTool.getDescriptionFromSchemaAst(format.schema.ast) ??
          "Respond with a JSON object",
        schema: jsonSchemaOf(format.schema.ast),
      },
    },
  };
};

/**
 * The whole request: the caller's parameters (checked by {@linkcode checkParams}: the effect
 * dies with its `TypeError`), then the model, the messages, the tools and the response format.
 *
 * @param model The model name.
 * @param params OpenAI parameters from the configuration.
 * @param options The provider options.
 * @returns The request, or `MalformedInput`.
 */
export const makeRequest = (
  model: string,
  params: { readonly [key: string]: unknown } | undefined,
  options: LanguageModel.ProviderOptions,
): Effect.Effect<ChatCompletionRequest, AiError.MalformedInput> =>
  Effect.gen(function* () {
    const messages = yield* prepareMessages(options.prompt);
    const tools = yield* prepareTools(options);
    const extra = checkParams(params);
    if (Either.isLeft(extra)) return yield* Effect.die(extra.left);
    return { ...extra.right, model, messages, ...tools, ...prepareResponseFormat(options) };
  });
