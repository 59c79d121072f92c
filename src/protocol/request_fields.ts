/**
 * The request contract: which fields of a chat completion body are the client's, not the
 * model's. `security_tier`, `api_key`, `base_url`, `stream` and `stream_options` (and every
 * other spelling of them: `securityTier`, `apiKey`, `baseURL`, `routerUrl`, `SECURITY_TIER`,
 * …) are taken out of the body before it is encrypted, whichever door it came through. Each is
 * either applied (the tier becomes `X-Security-Tier`, the key `Authorization`, the base URL the
 * router; `stream` the streaming shape) or refused with a `TypeError` that names it: never
 * encrypted into the plaintext, never silently dropped. A door says which fields it applies
 * (see {@linkcode RequestDoor}); the rest of the rule is here, once.
 *
 * In a body the field is spelt as OpenAI's wire format spells it (`security_tier`); any other
 * spelling is refused, so that one name means one thing. `undefined` and `null` mean the field
 * is not given; `stream: false` is the whole answer every door gives, so it is accepted
 * everywhere. Only own data properties of the body are read: a field the caller's prototype
 * holds, or an own getter, is refused; one on a polluted `Object.prototype` is ignored.
 *
 * @module
 */
import * as Either from "effect/Either";
import type { ChatCompletionRequest } from "./chat.ts";
import { fold, isInheritedFromCaller, ownData, showKey } from "./closed_keys.ts";
import { defineOwn, isJsonObject } from "./json.ts";

/** A client-side field of a request body. */
export type RequestField = "securityTier" | "apiKey" | "baseUrl" | "stream" | "streamOptions";

/**
 * Each client-side field: its name in a body, then its other names (the client options'); a key
 * equal to one of them up to case, `_`, `-` and spaces (`SECURITY_TIER`, `api-key`) is it too.
 */
export const REQUEST_FIELDS: {
  readonly [F in RequestField]: { readonly name: string; readonly spellings: readonly string[] };
} = {
  securityTier: { name: "security_tier", spellings: ["securityTier"] },
  apiKey: { name: "api_key", spellings: ["apiKey"] },
  baseUrl: { name: "base_url", spellings: ["baseUrl", "baseURL", "routerUrl", "router_url"] },
  stream: { name: "stream", spellings: [] },
  streamOptions: { name: "stream_options", spellings: ["streamOptions"] },
};

const FIELD_OF_FOLDED: ReadonlyMap<string, RequestField> = new Map(
  (Object.keys(REQUEST_FIELDS) as RequestField[]).flatMap((field) =>
    [REQUEST_FIELDS[field].name, ...REQUEST_FIELDS[field].spellings].map((
      name,
    ) => [fold(name), field] as const)
  ),
);

/**
 * The client-side field a body key names, in any spelling, or `undefined` for a model field.
 *
 * @param key A key of a request body.
 * @returns The field.
 */
export const requestFieldOf = (key: string): RequestField | undefined =>
  FIELD_OF_FOLDED.get(fold(key));

/** What one door does with the client-side fields of the bodies it is given. */
export interface RequestDoor {
  /** What the door does, after "Cannot " in messages: `"send request"`. */
  readonly action: string;
  /** The fields it applies; every other one is refused. */
  readonly applies: ReadonlyArray<RequestField>;
  /** Why a field is refused here, and what to do instead (shown after its name). */
  readonly refusals?: { readonly [F in RequestField]?: string };
}

/**
 * The client-side fields a body gave: the values as given (the core checks them), `undefined`
 * when not given. Every key is own, so no read reaches `Object.prototype`.
 */
export interface RequestFields {
  /** `security_tier`. */
  readonly securityTier: unknown;
  /** `api_key`. */
  readonly apiKey: unknown;
  /** `base_url`. */
  readonly baseUrl: unknown;
  /** Whether `stream: true` asked for the streaming shape. */
  readonly stream: boolean;
  /** `stream_options.include_usage === true` (with `stream: true` only). */
  readonly includeUsage: boolean;
}

/** A body taken apart: what is encrypted, and the fields the door applies. */
export interface SplitRequest {
  /** A fresh object of the body's own fields, the client's taken out: what gets encrypted. */
  readonly body: ChatCompletionRequest;
  /** The client's fields. */
  readonly fields: RequestFields;
}

const DEFAULT_REFUSAL = "it is not accepted here";

/**
 * Takes a request body apart by the contract: every client-side field out of it, applied or
 * refused as `door` says; every other own field copied as it is.
 *
 * @param request The caller's body.
 * @param door What the door applies.
 * @returns The parts, or the `TypeError` that names the refused field.
 */
export const splitRequest = (
  request: unknown,
  door: RequestDoor,
): Either.Either<SplitRequest, TypeError> => {
  const refuse = (what: string) => Either.left(new TypeError(`Cannot ${door.action}: ${what}`));
  if (!isJsonObject(request)) return refuse("the request must be an object");
  const refusal = (field: RequestField) =>
    `${REQUEST_FIELDS[field].name}, which is not accepted here (${
      door.refusals?.[field] ?? DEFAULT_REFUSAL
    })`;
  const body: Record<string, unknown> = {};
  // No prototype: a field not given reads `undefined`, whatever `Object.prototype` holds.
  const given: { [F in RequestField]?: unknown } = Object.create(null);
  for (const key of Object.keys(request)) {
    const descriptor = Object.getOwnPropertyDescriptor(request, key)!;
    if (!("value" in descriptor)) {
      return refuse(`the request field ${showKey(key)} is a getter; pass plain data`);
    }
    const field = requestFieldOf(key);
    if (field === undefined) {
      defineOwn(body, key, descriptor.value);
      continue;
    }
    const value: unknown = descriptor.value;
    if (value === undefined || value === null) continue; // not given
    const applied = door.applies.includes(field);
    if (key !== REQUEST_FIELDS[field].name) {
      return refuse(
        applied
          ? `the request field ${showKey(key)} is spelt ${REQUEST_FIELDS[field].name} ` +
            "(otherwise it would reach the model as a parameter)"
          : `the request field ${showKey(key)} means ${refusal(field)}`,
      );
    }
    // The whole answer is what every door gives: `stream: false` asks for nothing more.
    if (field === "stream" && value === false) continue;
    if (!applied) return refuse(`the request field ${refusal(field)}`);
    given[field] = value;
  }
  // A client field the caller's own prototype holds was meant, and would be dropped.
  for (const field of Object.keys(REQUEST_FIELDS) as RequestField[]) {
    const { name, spellings } = REQUEST_FIELDS[field];
    const inherited = [name, ...spellings].find((key) =>
      !Object.hasOwn(request, key) && isInheritedFromCaller(request, key)
    );
    if (inherited !== undefined) {
      return refuse(
        `the request field ${inherited} is inherited, not an own property; pass a plain object`,
      );
    }
  }
  const { stream, streamOptions } = given;
  if (stream !== undefined && typeof stream !== "boolean") {
    return refuse("stream must be a boolean");
  }
  if (streamOptions !== undefined && stream !== true) {
    return refuse("stream_options is only allowed with stream: true");
  }
  if (streamOptions !== undefined && !isJsonObject(streamOptions)) {
    return refuse("stream_options must be an object");
  }
  const fields: RequestFields = {
    securityTier: given.securityTier,
    apiKey: given.apiKey,
    baseUrl: given.baseUrl,
    stream: stream === true,
    includeUsage: streamOptions !== undefined &&
      ownData(streamOptions, "include_usage") === true,
  };
  return Either.right({ body: body as unknown as ChatCompletionRequest, fields });
};
