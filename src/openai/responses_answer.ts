/**
 * A decrypted chat completion as a Responses API `Response` object (openai's `Response`): the
 * first choice's reasoning, text (or refusal) and tool calls as output items, the finish reason
 * as the status, the token counts as Responses usage, and the client's `_metadata` kept.
 *
 * @module
 */
import type { ChatCompletion, ResponseMetadata } from "../protocol/chat.ts";
import type { ResponseEcho } from "./responses_request.ts";

type Json = Record<string, unknown>;

/** An output item of a Response: `reasoning`, `message` or `function_call`. */
export type ResponseOutputItem = Json & {
  /** The item's id (`rs_…`, `msg_…`, `fc_…`). */
  readonly id: string;
  /** `"reasoning"`, `"message"` or `"function_call"`. */
  readonly type: "reasoning" | "message" | "function_call";
};

/** A Responses API `Response` object, in the shape of openai's `Response`. */
export interface ResponseObject {
  /** `"resp_"` + the payload id. */
  readonly id: string;
  /** Always `"response"`. */
  readonly object: "response";
  /** The completion's `created` (Unix seconds). */
  readonly created_at: number;
  /** `"completed"`, or `"incomplete"` when the answer was cut (`length`, `content_filter`). */
  readonly status: "completed" | "incomplete" | "in_progress";
  /** Why it is incomplete, else `null`. */
  readonly incomplete_details: { readonly reason: "max_output_tokens" | "content_filter" } | null;
  /** The model that answered. */
  readonly model: string;
  /** Reasoning, message and function call items, in that order. */
  readonly output: ReadonlyArray<ResponseOutputItem>;
  /** Token counts, when the router sent them. */
  readonly usage?: Json | null;
  /** The client's `_metadata`. */
  readonly _metadata: ResponseMetadata;
  /** The request parameters reported back, and the rest of openai's fields. */
  readonly [key: string]: unknown;
}

/** The status a finish reason gives: cut answers are incomplete, anything else completed. */
const incompleteReason = (
  finishReason: unknown,
): "max_output_tokens" | "content_filter" | undefined =>
  finishReason === "length"
    ? "max_output_tokens"
    : finishReason === "content_filter"
    ? "content_filter"
    : undefined; // "stop", "tool_calls" and reasons OpenAI does not name

const numberOr = (value: unknown, fallback: number): number =>
  typeof value === "number" ? value : fallback;

const detail = (details: unknown, key: string): number =>
  typeof details === "object" && details !== null && Object.hasOwn(details, key)
    ? numberOr((details as Json)[key], 0)
    : 0;

/** Chat usage as Responses usage. */
const responsesUsage = (usage: ChatCompletion["usage"]): Json | undefined =>
  usage === undefined ? undefined : {
    input_tokens: usage.prompt_tokens,
    input_tokens_details: { cached_tokens: detail(usage.prompt_tokens_details, "cached_tokens") },
    output_tokens: usage.completion_tokens,
    output_tokens_details: {
      reasoning_tokens: detail(usage.completion_tokens_details, "reasoning_tokens"),
    },
    total_tokens: usage.total_tokens,
  };

/**
 * Makes the Response object of a completion. Item ids are derived from the payload id
 * (`msg_<id>`, `rs_<id>`, `fc_<id>_<n>`); a function call's `call_id` is the tool call's id, so a
 * `function_call_output` answers it. `instructions` is `null`: the answer carries no copy of the
 * prompt. Request parameters OpenAI reports back (tools, tool choice, sampling, `text`,
 * `metadata` …) are those of `echo`.
 *
 * @param completion The decrypted answer.
 * @param echo The request parameters to report back (see `translateResponsesRequest`).
 * @returns The Response object.
 */
export const completionToResponse = (
  completion: ChatCompletion,
  echo: ResponseEcho,
): ResponseObject => {
  const base = completion._metadata.payload_id;
  const choice = completion.choices[0];
  const reason = incompleteReason(choice?.finish_reason);
  const itemStatus = reason === undefined ? "completed" : "incomplete";
  const output: ResponseOutputItem[] = [];
  if (choice !== undefined) {
    const { message } = choice;
    if (typeof message.reasoning_content === "string" && message.reasoning_content !== "") {
      output.push({
        id: `rs_${base}`,
        type: "reasoning",
        summary: [],
        content: [{ type: "reasoning_text", text: message.reasoning_content }],
        status: itemStatus,
      });
    }
    const calls = message.tool_calls ?? [];
    const refusal = typeof message.refusal === "string" && message.refusal !== ""
      ? message.refusal
      : undefined;
    const text = message.content;
    // A message item unless the model only called tools.
    if (refusal !== undefined || (text !== null && text !== "") || calls.length === 0) {
      const logprobs = choice.logprobs?.content;
      const parts: Json[] = [];
      if (text !== null || refusal === undefined) {
        parts.push({
          type: "output_text",
          text: text ?? "",
          annotations: [],
          ...(echo.logprobs ? { logprobs: logprobs ?? [] } : {}),
        });
      }
      if (refusal !== undefined) parts.push({ type: "refusal", refusal });
      output.push({
        id: `msg_${base}`,
        type: "message",
        status: itemStatus,
        role: "assistant",
        content: parts,
      });
    }
    calls.forEach((call, i) => {
      output.push({
        id: `fc_${base}_${i}`,
        type: "function_call",
        status: "completed",
        call_id: call.id,
        name: call.function.name,
        arguments: call.function.arguments,
      });
    });
  }
  const usage = responsesUsage(completion.usage);
  const serviceTier = completion.service_tier;
  return {
    id: `resp_${base}`,
    object: "response",
    created_at: completion.created,
    status: reason === undefined ? "completed" : "incomplete",
    background: false,
    error: null,
    incomplete_details: reason === undefined ? null : { reason },
    instructions: null,
    max_output_tokens: echo.max_output_tokens,
    metadata: echo.metadata,
    model: completion.model,
    output,
    parallel_tool_calls: echo.parallel_tool_calls,
    previous_response_id: null,
    reasoning: echo.reasoning,
    store: false,
    temperature: echo.temperature,
    text: echo.text,
    tool_choice: echo.tool_choice,
    tools: echo.tools,
    top_logprobs: echo.top_logprobs,
    top_p: echo.top_p,
    truncation: "disabled",
    ...(typeof serviceTier === "string" ? { service_tier: serviceTier } : {}),
    ...(usage === undefined ? {} : { usage }),
    _metadata: completion._metadata,
  };
};
