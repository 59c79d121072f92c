/**
 * OpenAI-style chat completion types (request and response) as Schemas, and the `_metadata`
 * the client adds to every response. Unknown fields are allowed everywhere: a router or model
 * that adds fields keeps them, and every OpenAI parameter the caller passes is sent unchanged.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { defineOwn, isJsonObject } from "./json.ts";

/** A tool call made by the model. */
export interface ToolCall {
  /** Call id, echoed back in the `tool` message that answers it. */
  readonly id: string;
  /** Always `"function"`. */
  readonly type: "function";
  /** The function and its JSON-encoded arguments. */
  readonly function: { readonly name: string; readonly arguments: string };
}

/** Schema of {@linkcode ToolCall}. */
export const ToolCall: Schema.Schema<ToolCall> = Schema.Struct({
  id: Schema.String,
  type: Schema.Literal("function"),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String }),
});

/** A message of the conversation sent to the model. */
export interface ChatMessage {
  /** `system`, `developer`, `user`, `assistant` or `tool`. */
  readonly role: string;
  /** Text, content parts, or `null` for an assistant message that only calls tools. */
  readonly content?: string | ReadonlyArray<unknown> | null;
  /** Optional participant name. */
  readonly name?: string;
  /** Tool calls of an assistant message. */
  readonly tool_calls?: ReadonlyArray<ToolCall>;
  /** The call a `tool` message answers. */
  readonly tool_call_id?: string;
  /** Any other field, sent unchanged. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode ChatMessage}. */
export const ChatMessage: Schema.Schema<ChatMessage> = Schema.Struct(
  {
    role: Schema.String,
    content: Schema.optionalWith(
      Schema.Union(Schema.String, Schema.Array(Schema.Unknown), Schema.Null),
      { exact: true },
    ),
    name: Schema.optionalWith(Schema.String, { exact: true }),
    tool_calls: Schema.optionalWith(Schema.Array(ToolCall), { exact: true }),
    tool_call_id: Schema.optionalWith(Schema.String, { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/**
 * A message as other SDKs type it. openai's `ChatCompletionMessageParam` interfaces fit here
 * (an interface has no index signature, so it cannot be a {@linkcode ChatMessage}); every field
 * it has is sent unchanged all the same.
 */
export interface ChatMessageParam {
  /** `system`, `developer`, `user`, `assistant`, `tool` or `function`. */
  readonly role: string;
  /** Text, content parts, or `null`. */
  readonly content?: string | ReadonlyArray<unknown> | null;
  /** Optional participant name. */
  readonly name?: string;
  /** Tool calls of an assistant message (function or custom). */
  readonly tool_calls?: ReadonlyArray<unknown>;
  /** The call a `tool` message answers. */
  readonly tool_call_id?: string;
}

/** Schema of {@linkcode ChatMessageParam}. */
export const ChatMessageParam: Schema.Schema<ChatMessageParam> = Schema.Struct({
  role: Schema.String,
  content: Schema.optionalWith(
    Schema.Union(Schema.String, Schema.Array(Schema.Unknown), Schema.Null),
    { exact: true },
  ),
  name: Schema.optionalWith(Schema.String, { exact: true }),
  tool_calls: Schema.optionalWith(Schema.Array(Schema.Unknown), { exact: true }),
  tool_call_id: Schema.optionalWith(Schema.String, { exact: true }),
});

/** A tool (function) the model may call. */
export interface Tool {
  /** Always `"function"`. */
  readonly type: "function";
  /** The function's name, description and JSON Schema parameters. */
  readonly function: {
    readonly name: string;
    readonly description?: string;
    readonly parameters?: { readonly [key: string]: unknown };
    readonly [key: string]: unknown;
  };
}

/** Schema of {@linkcode Tool}. */
export const Tool: Schema.Schema<Tool> = Schema.Struct({
  type: Schema.Literal("function"),
  function: Schema.Struct(
    {
      name: Schema.String,
      description: Schema.optionalWith(Schema.String, { exact: true }),
      parameters: Schema.optionalWith(
        Schema.Record({ key: Schema.String, value: Schema.Unknown }),
        { exact: true },
      ),
    },
    Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  ),
});

/**
 * A tool as other SDKs type it: openai's `ChatCompletionTool` interfaces (function and custom
 * tools) fit here, which they cannot as a {@linkcode Tool} (no index signature). Sent unchanged.
 */
export interface ToolParam {
  /** `"function"` or `"custom"`. */
  readonly type: string;
}

/** Schema of {@linkcode ToolParam}. */
export const ToolParam: Schema.Schema<ToolParam> = Schema.Struct({ type: Schema.String });

/**
 * The OpenAI chat completion body: what is encrypted and sent. Every parameter is passed to the
 * router unchanged, named or not.
 */
export interface ChatCompletionRequest {
  /** The model name. */
  readonly model: string;
  /** The conversation. */
  readonly messages: ReadonlyArray<ChatMessage | ChatMessageParam>;
  /** Sampling temperature. */
  readonly temperature?: number;
  /** Nucleus sampling. */
  readonly top_p?: number;
  /** Upper bound on generated tokens. */
  readonly max_tokens?: number;
  /** Stop sequences. */
  readonly stop?: string | ReadonlyArray<string>;
  /** Number of choices. */
  readonly n?: number;
  /** Tools the model may call. */
  readonly tools?: ReadonlyArray<Tool | ToolParam>;
  /** `none`, `auto`, `required` or a named function. */
  readonly tool_choice?: unknown;
  /** End-user id for abuse monitoring. */
  readonly user?: string;
  /** Penalties, bias, format, seed and any other OpenAI parameter. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode ChatCompletionRequest}. */
export const ChatCompletionRequest: Schema.Schema<ChatCompletionRequest> = Schema.Struct(
  {
    model: Schema.String,
    messages: Schema.Array(Schema.Union(ChatMessage, ChatMessageParam)),
    temperature: Schema.optionalWith(Schema.Number, { exact: true }),
    top_p: Schema.optionalWith(Schema.Number, { exact: true }),
    max_tokens: Schema.optionalWith(Schema.Number, { exact: true }),
    stop: Schema.optionalWith(Schema.Union(Schema.String, Schema.Array(Schema.String)), {
      exact: true,
    }),
    n: Schema.optionalWith(Schema.Number, { exact: true }),
    tools: Schema.optionalWith(Schema.Array(Schema.Union(Tool, ToolParam)), { exact: true }),
    tool_choice: Schema.optionalWith(Schema.Unknown, { exact: true }),
    user: Schema.optionalWith(Schema.String, { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/**
 * A chat completion request as other SDKs type it: openai's `ChatCompletionCreateParams`
 * interfaces fit here (they have no index signature, so they cannot be a
 * {@linkcode ChatCompletionRequest}). Every other field is sent unchanged all the same.
 */
export interface ChatCompletionRequestParams {
  /** The model name. */
  readonly model: string;
  /** The conversation. */
  readonly messages: ReadonlyArray<ChatMessageParam>;
}

/** `stream_options` of a streaming request. */
export interface StreamOptions {
  /** Send a last chunk with the token counts (`usage`) and empty `choices`. */
  readonly include_usage?: boolean;
  /** Ignored: there is no length to hide, the answer arrives whole. */
  readonly include_obfuscation?: boolean;
}

/** The assistant's message in a choice (the shape of openai's `ChatCompletionMessage`). */
export interface ChatCompletionMessage {
  /** Always `"assistant"`. */
  readonly role: "assistant";
  /** The answer text; `null` when the model only calls tools. */
  readonly content: string | null;
  /** The model's refusal; `null` when it did not refuse (set by the client when absent). */
  readonly refusal: string | null;
  /** Tool calls the model made. */
  readonly tool_calls?: Array<ToolCall>;
  /** The reasoning of thinking models. */
  readonly reasoning_content?: string | null;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode ChatCompletionMessage}. */
export const ChatCompletionMessage: Schema.Schema<ChatCompletionMessage> = Schema.Struct(
  {
    role: Schema.Literal("assistant"),
    content: Schema.NullOr(Schema.String),
    refusal: Schema.NullOr(Schema.String),
    tool_calls: Schema.optionalWith(Schema.mutable(Schema.Array(ToolCall)), { exact: true }),
    reasoning_content: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** One token's log probability (openai's `ChatCompletionTokenLogprob`). */
export interface TokenLogprob {
  /** The token. */
  readonly token: string;
  /** Its UTF-8 bytes, or `null`. */
  readonly bytes: Array<number> | null;
  /** Its log probability. */
  readonly logprob: number;
  /** The most likely tokens at this position. */
  readonly top_logprobs: Array<
    { readonly token: string; readonly bytes: Array<number> | null; readonly logprob: number }
  >;
}

const TopLogprob = Schema.Struct({
  token: Schema.String,
  bytes: Schema.NullOr(Schema.mutable(Schema.Array(Schema.Number))),
  logprob: Schema.Number,
});

/** Schema of {@linkcode TokenLogprob}. */
export const TokenLogprob: Schema.Schema<TokenLogprob> = Schema.Struct({
  ...TopLogprob.fields,
  top_logprobs: Schema.mutable(Schema.Array(TopLogprob)),
});

/** Log probabilities of a choice. */
export interface ChoiceLogprobs {
  /** Of the content tokens. */
  readonly content: Array<TokenLogprob> | null;
  /** Of the refusal tokens. */
  readonly refusal: Array<TokenLogprob> | null;
}

/**
 * Schema of {@linkcode ChoiceLogprobs}; an absent list reads as `null` (set by
 * {@linkcode fillNullableFields}: vLLM, for one, sends `content` only).
 */
const ChoiceLogprobs: Schema.Schema<ChoiceLogprobs> = Schema.Struct({
  content: Schema.NullOr(Schema.mutable(Schema.Array(TokenLogprob))),
  refusal: Schema.NullOr(Schema.mutable(Schema.Array(TokenLogprob))),
});

/**
 * Why a choice ended, as OpenAI names it. Answers may carry others: see
 * {@linkcode ChatCompletionChoice.finish_reason}.
 */
export type FinishReason = "stop" | "length" | "tool_calls" | "content_filter" | "function_call";

/**
 * OpenAI's five {@linkcode FinishReason}s. Other servers add their own (vLLM's and SGLang's
 * `"abort"`, TGI's `"eos_token"`) or send `null`: answers carry them unchanged, so test with
 * this list rather than assume a reason is one of it.
 *
 * @example Tell OpenAI's reasons from the others
 * ```ts
 * import { FINISH_REASONS, type FinishReason } from "@nomyo/client";
 * const isOpenAiReason = (reason: string | null): reason is FinishReason =>
 *   (FINISH_REASONS as ReadonlyArray<string | null>).includes(reason);
 * console.assert(isOpenAiReason("stop") && !isOpenAiReason("abort") && !isOpenAiReason(null));
 * ```
 */
export const FINISH_REASONS: ReadonlyArray<FinishReason> = [
  "stop",
  "length",
  "tool_calls",
  "content_filter",
  "function_call",
];

/** One choice of a completion (the shape of openai's `ChatCompletion.Choice`). */
export interface ChatCompletionChoice {
  /** Position among the choices. */
  readonly index: number;
  /** The assistant's message. */
  readonly message: ChatCompletionMessage;
  /**
   * Why the choice ended, as the router sent it. Typed as openai-node types it (OpenAI's five
   * {@linkcode FinishReason}s), so a result is an openai `ChatCompletion` without a cast; like
   * openai-node, the client passes another server's reason through verbatim (vLLM's and
   * SGLang's `"abort"`, TGI's `"eos_token"`, `null`): compare with {@linkcode FINISH_REASONS}
   * where that matters.
   */
  readonly finish_reason: FinishReason;
  /** Log probabilities, when asked for; else `null` (set by the client when absent). */
  readonly logprobs: ChoiceLogprobs | null;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode ChatCompletionChoice}. */
export const ChatCompletionChoice: Schema.Schema<ChatCompletionChoice> = Schema.Struct(
  {
    index: Schema.Number,
    message: ChatCompletionMessage,
    // Any reason the server gave: nothing in the protocol depends on it.
    // Any string or null is accepted, and typed as openai-node types it (see the interface).
    finish_reason: Schema.NullOr(Schema.String) as unknown as Schema.Schema<FinishReason>,
    logprobs: Schema.NullOr(ChoiceLogprobs),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** Token counts. */
export interface CompletionUsage {
  /** Tokens in the prompt. */
  readonly prompt_tokens: number;
  /** Tokens generated. */
  readonly completion_tokens: number;
  /** Both. */
  readonly total_tokens: number;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode CompletionUsage}. */
export const CompletionUsage: Schema.Schema<CompletionUsage> = Schema.Struct(
  {
    prompt_tokens: Schema.Number,
    completion_tokens: Schema.Number,
    total_tokens: Schema.Number,
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** The TPM attestation block a router with a TPM attaches (see `verifyAttestation`). */
export interface TpmAttestation {
  /** Marshaled `TPM2B_PUBLIC` of the AIK, base64. */
  readonly aik_pubkey_b64?: string;
  /** Marshaled `TPMS_ATTEST`, base64. */
  readonly quote_b64?: string;
  /** Marshaled `TPMT_SIGNATURE`, base64. */
  readonly signature_b64?: string;
  /** PCR index → lowercase hex digest. */
  readonly pcr_values?: { readonly [index: string]: string };
  /** `"sha256"`. */
  readonly pcr_bank?: string;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/** What the client records about a response in `_metadata`. */
export interface ResponseMetadata {
  /** The request's `X-Payload-ID`. */
  readonly payload_id: string;
  /** When the router sealed the answer (Unix seconds), when it said. */
  readonly processed_at?: number;
  /** Always `true`: the answer arrived encrypted. */
  readonly is_encrypted: true;
  /** The package algorithm, `"hybrid-aes256-rsa4096"`. */
  readonly encryption_algorithm: string;
  /** Always `"success"` on a returned response. */
  readonly response_status: "success";
  /** The router's TPM quote, as it sent it. */
  readonly tpm_attestation?: TpmAttestation;
  /**
   * The client's verification report (`AttestationResult`, plain JSON), when attestation is
   * `"verify-if-present"` or `"require"` and the quote verified; never the router's.
   */
  readonly attestation_result?: { readonly verified: true; readonly [key: string]: unknown };
  /** Anything else the router put into `_metadata`. */
  readonly [key: string]: unknown;
}

/**
 * An OpenAI chat completion as the router sends it (before the client sets `_metadata`), in the
 * shape of openai's `ChatCompletion`, but for the values other servers send where openai's type
 * names only OpenAI's: `object` and `choices[].finish_reason` are any string (and a finish
 * reason may be `null`).
 */
export interface ChatCompletionBody {
  /** Completion id. */
  readonly id: string;
  /**
   * `"chat.completion"`, typed as openai-node types it; another server's value passes through
   * verbatim.
   */
  readonly object: "chat.completion";
  /** Unix seconds. */
  readonly created: number;
  /** The model that answered. */
  readonly model: string;
  /** The choices. */
  readonly choices: Array<ChatCompletionChoice>;
  /** Token counts. */
  readonly usage?: CompletionUsage;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/**
 * What an opened plaintext must look like to be handed out as a {@linkcode ChatCompletion}
 * (after {@linkcode fillNullableFields}): the types its consumers read, not OpenAI's lists of
 * values. The client checks it with `Schema.is`, so the parsed object itself is kept: no copy,
 * no key (not even `__proto__`) lost or reinterpreted.
 */
export const ChatCompletionBody: Schema.Schema<ChatCompletionBody> = Schema.Struct(
  {
    id: Schema.String,
    // Any string is accepted, and typed as openai-node types it (see the interface).
    object: Schema.String as unknown as Schema.Schema<"chat.completion">,
    created: Schema.Number,
    model: Schema.String,
    choices: Schema.mutable(Schema.Array(ChatCompletionChoice)),
    usage: Schema.optionalWith(CompletionUsage, { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** The decrypted answer: an OpenAI chat completion plus the client's `_metadata`. */
export interface ChatCompletion extends ChatCompletionBody {
  /** Set by the client. */
  readonly _metadata: ResponseMetadata;
  /**
   * The router's `x-request-id` for this answer, else the request's payload id: a
   * non-enumerable property, as on openai-node's results (not in the answer's JSON).
   */
  readonly _request_id?: string;
}

/**
 * An opened answer exactly as the router sent it, plus the client's `_metadata` (what
 * `decryptResponse()` returns, as the Python and JavaScript peers do): nothing is added or
 * checked beyond what the protocol needs (a UTF-8 JSON object, nested at most 64 deep). Usually
 * a chat completion, but no field of it is promised.
 */
export interface DecryptedResponse {
  /** Set by the client, keeping what the router put there. */
  readonly _metadata: ResponseMetadata;
  /** Every field of the plaintext, unchanged. */
  readonly [key: string]: unknown;
}

/** Sets `key` to `null` on `target` when it is absent (an own data property, no setter runs). */
const defaultNull = (target: Record<string, unknown>, key: string): void => {
  if (!Object.hasOwn(target, key)) defineOwn(target, key, null);
};

/**
 * Sets the fields OpenAI's type requires but many OpenAI-compatible servers leave out, to what
 * their absence means: `choices[].logprobs`, `choices[].message.refusal` and, in a `logprobs`
 * object, `content` and `refusal` to `null`. Present values are kept (the schema then checks
 * them). Runs on a freshly parsed plaintext, before {@linkcode ChatCompletionBody} checks it,
 * for the typed result of `create()` only: `decryptResponse()` hands out the plaintext unfilled.
 *
 * @param body The parsed plaintext.
 */
export const fillNullableFields = (body: unknown): void => {
  if (!isJsonObject(body) || !Array.isArray(body.choices)) return;
  for (const choice of body.choices as ReadonlyArray<unknown>) {
    if (!isJsonObject(choice)) continue;
    defaultNull(choice, "logprobs");
    if (isJsonObject(choice.logprobs)) {
      defaultNull(choice.logprobs, "content");
      defaultNull(choice.logprobs, "refusal");
    }
    if (isJsonObject(choice.message)) defaultNull(choice.message, "refusal");
  }
};

/** A tool call's part in a streamed delta (openai's `ChatCompletionChunk.Choice.Delta.ToolCall`). */
export interface ToolCallDelta {
  /** Which tool call of the message this part belongs to. */
  readonly index: number;
  /** The call's id (in its first part). */
  readonly id?: string;
  /** `"function"` (in its first part). */
  readonly type?: "function";
  /** The function's name (first part) and a piece of its JSON arguments. */
  readonly function?: { readonly name?: string; readonly arguments?: string };
}

/** What a streamed chunk adds to the message. */
export interface ChatCompletionDelta {
  /** `"assistant"`, in the first chunk of a choice. */
  readonly role?: "assistant";
  /** A piece of the answer text. */
  readonly content?: string | null;
  /** A piece of the refusal. */
  readonly refusal?: string | null;
  /** Pieces of tool calls. */
  readonly tool_calls?: Array<ToolCallDelta>;
  /** A piece of the reasoning of thinking models. */
  readonly reasoning_content?: string;
}

/** One choice of a streamed chunk. */
export interface ChatCompletionChunkChoice {
  /** Which choice this is. */
  readonly index: number;
  /** What this chunk adds. */
  readonly delta: ChatCompletionDelta;
  /**
   * In the choice's last chunk, the answer's `finish_reason` as the router sent it (typed as
   * openai-node types it; other servers' reasons pass through, see
   * {@linkcode ChatCompletionChoice.finish_reason}); in every other chunk `null`.
   */
  readonly finish_reason: FinishReason | null;
  /** Log probabilities, in the chunk that carries the choice's content. */
  readonly logprobs?: ChoiceLogprobs | null;
}

/**
 * A streamed chunk, in the shape of openai's `ChatCompletionChunk`. The client makes them from
 * the whole decrypted answer (the protocol has no streaming); the last one carries `_metadata`.
 */
export interface ChatCompletionChunk {
  /** The completion's id (the same in every chunk). */
  readonly id: string;
  /** Always `"chat.completion.chunk"`. */
  readonly object: "chat.completion.chunk";
  /** Unix seconds (the same in every chunk). */
  readonly created: number;
  /** The model that answered. */
  readonly model: string;
  /** The choices this chunk adds to; empty in the usage chunk. */
  readonly choices: Array<ChatCompletionChunkChoice>;
  /** Token counts: in the usage chunk when `stream_options.include_usage`, else absent. */
  readonly usage?: CompletionUsage | null;
  /** The fingerprint of the serving system, when the router sent one. */
  readonly system_fingerprint?: string;
  /** The client's `_metadata`, on the last chunk only. */
  readonly _metadata?: ResponseMetadata;
}
