/**
 * Reading the fields of a Responses request: own properties only, each checked for its type, and
 * the refusal that names a field (OpenAI's `param`) when it cannot be served. Shared by the
 * translation modules (`responses_input.ts`, `responses_tools.ts`, `responses_request.ts`).
 *
 * @module
 */
import { isJsonObject } from "../protocol/json.ts";
import { ownData } from "../protocol/closed_keys.ts";

/** A JSON object of the request. */
export type Json = Record<string, unknown>;

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

/**
 * Thrown by the readers below and caught by `translateResponsesRequest`, which returns its
 * refusal: the translation stops at the first field it cannot serve.
 */
export class Refused {
  /** @param refusal The field and why. */
  constructor(
    /** The field and why. */
    readonly refusal: ResponsesRefusal,
  ) {}
}

const MAX_NAMED = 64;

/** A caller's string in a message: quoted, cut to 64 characters. */
export const quote = (value: string): string => JSON.stringify(keyName(value));

/** Refuses the field `param` (throws {@linkcode Refused}): "… <param> <detail>". */
export const refuse = (param: string, code: ResponsesRefusalCode, detail: string): never => {
  throw new Refused({
    ok: false,
    param,
    code,
    message: `Cannot translate the Responses request: ${param} ${detail}`,
  });
};

/** Refuses `param` as something the protocol cannot serve, saying `why`. */
export const unsupported = (param: string, why: string): never =>
  refuse(param, "unsupported_parameter", `is not supported: ${why}`);

/** A caller's key as part of a field name: cut to 64 characters. */
export const keyName = (key: string): string =>
  key.length > MAX_NAMED ? `${key.slice(0, MAX_NAMED)}…` : key;

/** Refuses every own key of `o` that is not in `known`. */
export const closedKeys = (o: Json, known: ReadonlySet<string>, at: string): void => {
  for (const key of Object.keys(o)) {
    if (!known.has(key)) {
      const name = keyName(key);
      refuse(at === "" ? name : `${at}.${name}`, "unknown_parameter", "is not a known parameter");
    }
  }
};

/** `value` when it is a JSON object, else a refusal of `param`. */
export const objectAt = (value: unknown, param: string): Json =>
  isJsonObject(value) ? value : refuse(param, "invalid_type", "must be an object");

/** `value` when it is an array, else a refusal of `param`. */
export const arrayAt = (value: unknown, param: string): ReadonlyArray<unknown> =>
  Array.isArray(value) ? value : refuse(param, "invalid_type", "must be an array");

/** `value` when it is a string, else a refusal of `param`. */
export const stringAt = (value: unknown, param: string): string =>
  typeof value === "string" ? value : refuse(param, "invalid_type", "must be a string");

/** `value` when it is a finite number, else a refusal of `param`. */
export const numberAt = (value: unknown, param: string): number =>
  typeof value === "number" && Number.isFinite(value)
    ? value
    : refuse(param, "invalid_type", "must be a number");

/** `value` when it is an integer from `min` to `max`, else a refusal of `param`. */
export const integerAt = (value: unknown, param: string, min: number, max: number): number =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? value
    : refuse(param, "invalid_value", `must be an integer from ${min} to ${max}`);

/** `value` when it is a boolean, else a refusal of `param`. */
export const booleanAt = (value: unknown, param: string): boolean =>
  typeof value === "boolean" ? value : refuse(param, "invalid_type", "must be a boolean");

/** `null` and an absent value are the same: the parameter is not set. */
export const isUnset = (value: unknown): value is null | undefined =>
  value === undefined || value === null;

/** Accepts only an unset value (or `allowed`), else refuses with `why`. */
export const onlyUnset = (value: unknown, param: string, why: string, allowed?: unknown): void => {
  if (!isUnset(value) && value !== allowed) unsupported(param, why);
};

/** Built-in tools (and tool choices) run on OpenAI's servers; a NOMYO router has none. */
export const BUILT_IN: string =
  "built-in tools run on OpenAI's servers; only function tools can be sent";

/** A part or item of the request: the object at `at` and its string `type`. */
export const partType = (part: unknown, at: string): [Json, string] => {
  const p = objectAt(part, at);
  return [p, stringAt(ownData(p, "type"), `${at}.type`)];
};
