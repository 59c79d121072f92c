/**
 * A decrypted chat completion → `@effect/ai` response parts (metadata, reasoning, text, tool
 * calls, finish reason and usage), and the same parts as a stream. The NOMYO protocol delivers
 * each answer whole, so the stream is emulated: every text arrives as one delta.
 *
 * @module
 */
import * as AiError from "@effect/ai/AiError";
import type * as Response from "@effect/ai/Response";
import * as AiTool from "@effect/ai/Tool";
import * as Effect from "effect/Effect";
import type { ChatCompletion } from "../protocol/chat.ts";
import { MODULE } from "./ai_error.ts";

/**
 * A tool name as an error shows it: only when it is a function name as OpenAI defines them
 * (the model wrote it: anything else could be a megabyte, control characters or the answer's
 * confidential text, none of which belongs in a log line).
 */
const shownName = (name: string): string =>
  /^[A-Za-z0-9_-]{1,64}$/.test(name) ? name : "a tool with an invalid name";

const malformedOutput = (description: string): AiError.MalformedOutput =>
  new AiError.MalformedOutput({ module: MODULE, method: "makeResponse", description });

/** OpenAI's finish reasons as `@effect/ai`'s (a `Map`: no inherited key matches). */
const FINISH_REASON_MAP: ReadonlyMap<string, Response.FinishReason> = new Map([
  ["stop", "stop"],
  ["length", "length"],
  ["content_filter", "content-filter"],
  ["tool_calls", "tool-calls"],
  ["function_call", "tool-calls"],
]);

/**
 * A choice's `finish_reason` as `@effect/ai`'s, as `@effect/ai-openai` maps it: OpenAI's five
 * by name; any other reason (vLLM's `"abort"`, TGI's `"eos_token"`) or `null` is `"unknown"`,
 * or `"tool-calls"` when the answer calls tools. Unlike `@effect/ai-openai`, `"stop"` with tool
 * calls is `"tool-calls"` too: some servers say `stop` when the model calls tools.
 *
 * @param reason The choice's `finish_reason`, as the router sent it.
 * @param hasToolCalls Whether the answer calls tools.
 * @returns The finish reason.
 */
export const resolveFinishReason = (
  reason: string | null,
  hasToolCalls: boolean,
): Response.FinishReason => {
  const known = reason === null ? undefined : FINISH_REASON_MAP.get(reason);
  if (hasToolCalls && (known === undefined || known === "stop")) return "tool-calls";
  return known ?? "unknown";
};

const count = (value: unknown): number | undefined =>
  typeof value === "number" && Number.isFinite(value) ? value : undefined;

const nested = (value: unknown, key: string): unknown =>
  typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;

const isoTime = (unixSeconds: number): string | undefined => {
  const date = new Date(unixSeconds * 1000);
  return Number.isFinite(date.getTime()) ? date.toISOString() : undefined;
};

/**
 * The parts of a completion's first choice. Tool call arguments are parsed with
 * `Tool.unsafeSecureJsonParse` (no `__proto__` or `constructor.prototype` keys); arguments
 * that do not parse give a `MalformedOutput` that names the tool but never quotes them.
 *
 * @param completion The decrypted completion.
 * @returns The encoded parts, or `MalformedOutput`.
 */
export const makeResponse = (
  completion: ChatCompletion,
): Effect.Effect<Array<Response.PartEncoded>, AiError.MalformedOutput> =>
  Effect.gen(function* () {
    const choice = completion.choices[0];
    if (choice === undefined) {
      return yield* malformedOutput("Cannot read answer: it has no choices");
    }
    const message = choice.message;
    const timestamp = isoTime(completion.created);
    const parts: Array<Response.PartEncoded> = [{
      type: "response-metadata",
      id: completion.id,
      modelId: completion.model,
      ...(timestamp === undefined ? {} : { timestamp }),
      // payload_id, encryption, model tier and attestation, as the client recorded them.
      metadata: { nomyo: { ...completion._metadata } },
    }];
    const reasoning = message.reasoning_content;
    if (typeof reasoning === "string" && reasoning.length > 0) {
      parts.push({ type: "reasoning", text: reasoning });
    }
    if (typeof message.content === "string" && message.content.length > 0) {
      parts.push({ type: "text", text: message.content });
    }
    const toolCalls = message.tool_calls ?? [];
    for (const call of toolCalls) {
      const name = call.function.name;
      const params = yield* Effect.try({
        try: () => AiTool.unsafeSecureJsonParse(call.function.arguments),
        // No cause: a JSON parser's message can quote the (confidential) arguments.
        catch: () =>
          malformedOutput(
            `Cannot read tool call: the arguments of ${shownName(name)} are not JSON`,
          ),
      });
      parts.push({ type: "tool-call", id: call.id, name, params });
    }
    const usage = completion.usage;
    const reasoningTokens = count(nested(usage?.completion_tokens_details, "reasoning_tokens"));
    const cachedInputTokens = count(nested(usage?.prompt_tokens_details, "cached_tokens"));
    parts.push({
      type: "finish",
      reason: resolveFinishReason(choice.finish_reason, toolCalls.length > 0),
      usage: {
        inputTokens: count(usage?.prompt_tokens),
        outputTokens: count(usage?.completion_tokens),
        totalTokens: count(usage?.total_tokens),
        ...(reasoningTokens === undefined ? {} : { reasoningTokens }),
        ...(cachedInputTokens === undefined ? {} : { cachedInputTokens }),
      },
    });
    return parts;
  });

/**
 * The parts of a whole answer as stream parts: each text and reasoning as start, one delta
 * and end; each tool call as its parameter start, delta and end, then the call.
 *
 * @param parts The parts from {@linkcode makeResponse}.
 * @returns The stream parts, in order.
 */
export const toStreamParts = (
  parts: ReadonlyArray<Response.PartEncoded>,
): Array<Response.StreamPartEncoded> => {
  const out: Array<Response.StreamPartEncoded> = [];
  let next = 0;
  for (const part of parts) {
    switch (part.type) {
      case "text": {
        const id = String(next++);
        out.push(
          { type: "text-start", id },
          { type: "text-delta", id, delta: part.text },
          { type: "text-end", id },
        );
        break;
      }
      case "reasoning": {
        const id = String(next++);
        out.push(
          { type: "reasoning-start", id },
          { type: "reasoning-delta", id, delta: part.text },
          { type: "reasoning-end", id },
        );
        break;
      }
      case "tool-call":
        out.push(
          { type: "tool-params-start", id: part.id, name: part.name },
          { type: "tool-params-delta", id: part.id, delta: JSON.stringify(part.params) },
          { type: "tool-params-end", id: part.id },
          part,
        );
        break;
      case "response-metadata":
      case "finish":
        out.push(part);
        break;
      // makeResponse makes no other parts.
      default:
        break;
    }
  }
  return out;
};
