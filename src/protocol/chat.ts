/**
 * OpenAI-style chat completion types (request and response) as Schemas, and the `_metadata`
 * the client adds to every response. Unknown fields are allowed everywhere: a router or model
 * that adds fields keeps them, and every OpenAI parameter the caller passes is sent unchanged.
 *
 * @module
 */
import { Schema } from "effect";

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
 * The OpenAI chat completion body: what is encrypted and sent. Every parameter is passed to the
 * router unchanged, named or not.
 */
export interface ChatCompletionRequest {
  /** The model name. */
  readonly model: string;
  /** The conversation. */
  readonly messages: ReadonlyArray<ChatMessage>;
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
  readonly tools?: ReadonlyArray<Tool>;
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
    messages: Schema.Array(ChatMessage),
    temperature: Schema.optionalWith(Schema.Number, { exact: true }),
    top_p: Schema.optionalWith(Schema.Number, { exact: true }),
    max_tokens: Schema.optionalWith(Schema.Number, { exact: true }),
    stop: Schema.optionalWith(Schema.Union(Schema.String, Schema.Array(Schema.String)), {
      exact: true,
    }),
    n: Schema.optionalWith(Schema.Number, { exact: true }),
    tools: Schema.optionalWith(Schema.Array(Tool), { exact: true }),
    tool_choice: Schema.optionalWith(Schema.Unknown, { exact: true }),
    user: Schema.optionalWith(Schema.String, { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** The assistant's message in a choice. */
export interface ChatCompletionMessage {
  /** Usually `"assistant"`. */
  readonly role: string;
  /** The answer text; `null` when the model only calls tools. */
  readonly content: string | null;
  /** Tool calls the model made. */
  readonly tool_calls?: ReadonlyArray<ToolCall>;
  /** The reasoning of thinking models. */
  readonly reasoning_content?: string | null;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode ChatCompletionMessage}. */
export const ChatCompletionMessage: Schema.Schema<ChatCompletionMessage> = Schema.Struct(
  {
    role: Schema.String,
    content: Schema.NullOr(Schema.String),
    tool_calls: Schema.optionalWith(Schema.Array(ToolCall), { exact: true }),
    reasoning_content: Schema.optionalWith(Schema.NullOr(Schema.String), { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** One choice of a completion. */
export interface ChatCompletionChoice {
  /** Position among the choices. */
  readonly index: number;
  /** The assistant's message. */
  readonly message: ChatCompletionMessage;
  /** `stop`, `length`, `tool_calls`, … */
  readonly finish_reason: string | null;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/** Schema of {@linkcode ChatCompletionChoice}. */
export const ChatCompletionChoice: Schema.Schema<ChatCompletionChoice> = Schema.Struct(
  {
    index: Schema.Number,
    message: ChatCompletionMessage,
    finish_reason: Schema.NullOr(Schema.String),
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
  /** Anything else the router put into `_metadata`. */
  readonly [key: string]: unknown;
}

/** An OpenAI chat completion as the router sends it (before the client sets `_metadata`). */
export interface ChatCompletionBody {
  /** Completion id. */
  readonly id: string;
  /** `"chat.completion"`. */
  readonly object: string;
  /** Unix seconds. */
  readonly created: number;
  /** The model that answered. */
  readonly model: string;
  /** The choices. */
  readonly choices: ReadonlyArray<ChatCompletionChoice>;
  /** Token counts. */
  readonly usage?: CompletionUsage;
  /** Any other field the router sent. */
  readonly [key: string]: unknown;
}

/**
 * What an opened plaintext must look like to be handed out as a {@linkcode ChatCompletion}.
 * The client checks it with `Schema.is`, so the parsed object itself is kept: no copy, no key
 * (not even `__proto__`) lost or reinterpreted.
 */
export const ChatCompletionBody: Schema.Schema<ChatCompletionBody> = Schema.Struct(
  {
    id: Schema.String,
    object: Schema.String,
    created: Schema.Number,
    model: Schema.String,
    choices: Schema.Array(ChatCompletionChoice),
    usage: Schema.optionalWith(CompletionUsage, { exact: true }),
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown }),
);

/** The decrypted answer: an OpenAI chat completion plus the client's `_metadata`. */
export interface ChatCompletion extends ChatCompletionBody {
  /** Set by the client. */
  readonly _metadata: ResponseMetadata;
}
