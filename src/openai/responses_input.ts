/**
 * The `input` of a Responses request as chat messages: messages and their content parts,
 * function calls and their outputs, and the reasoning of this door's own earlier answers.
 *
 * @module
 */
import type { ChatMessage, ToolCall } from "../protocol/chat.ts";
import { isJsonObject } from "../protocol/json.ts";
import {
  arrayAt,
  closedKeys,
  isUnset,
  type Json,
  objectAt,
  onlyUnset,
  partType,
  quote,
  refuse,
  stringAt,
  unsupported,
} from "./responses_fields.ts";
import { ownData } from "../protocol/closed_keys.ts";

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
  onlyUnset(ownData(item, "namespace"), `${at}.namespace`, "tool namespaces have no chat form");
  const caller = ownData(item, "caller");
  if (!isUnset(caller) && !(isJsonObject(caller) && ownData(caller, "type") === "direct")) {
    unsupported(`${at}.caller`, "programmatic tool calling runs on OpenAI's servers");
  }
};

/** An `input_image` part as a chat `image_url` part. */
const imagePart = (part: Json, at: string): Json => {
  closedKeys(part, IMAGE_KEYS, at);
  onlyUnset(ownData(part, "file_id"), `${at}.file_id`, "no files are stored; send image_url");
  const url = stringAt(ownData(part, "image_url"), `${at}.image_url`);
  const detail = ownData(part, "detail");
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
  return stringAt(ownData(part, "text"), `${at}.text`);
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
      refusal = (refusal ?? "") + stringAt(ownData(part, "refusal"), `${pat}.refusal`);
    } else unsupported(`${pat}.type`, `${quote(type)} parts cannot be sent as the assistant's`);
  });
  return refusal === undefined ? { text } : { text, refusal };
};

const ROLES = new Set(["user", "system", "developer", "assistant"]);

/** Translates `input` (a string, or messages and items) into chat messages. */
export const translateInput = (input: unknown): ChatMessage[] => {
  if (typeof input === "string") return [{ role: "user", content: input }];
  if (!Array.isArray(input)) {
    return refuse("input", "invalid_type", "must be a string or a list of items");
  }
  const items: ReadonlyArray<unknown> = input;
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
    const type = ownData(item, "type");
    if (isUnset(type) || type === "message") {
      closedKeys(item, MESSAGE_KEYS, at);
      const role = stringAt(ownData(item, "role"), `${at}.role`);
      if (!ROLES.has(role)) refuse(`${at}.role`, "invalid_value", `${quote(role)} is not a role`);
      onlyUnset(ownData(item, "phase"), `${at}.phase`, "phases have no chat form");
      const content = ownData(item, "content");
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
      onlyUnset(
        ownData(item, "async"),
        `${at}.async`,
        "asynchronous calls have no chat form",
        false,
      );
      const call: ToolCall = {
        id: stringAt(ownData(item, "call_id"), `${at}.call_id`),
        type: "function",
        function: {
          name: stringAt(ownData(item, "name"), `${at}.name`),
          arguments: stringAt(ownData(item, "arguments"), `${at}.arguments`),
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
      const callId = stringAt(ownData(item, "call_id"), `${at}.call_id`);
      const output = ownData(item, "output");
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
        ownData(item, "encrypted_content"),
        `${at}.encrypted_content`,
        "OpenAI's encrypted reasoning can only be read by OpenAI",
      );
      const summary = ownData(item, "summary");
      if (!isUnset(summary) && arrayAt(summary, `${at}.summary`).length > 0) {
        unsupported(`${at}.summary`, "reasoning summaries have no chat form");
      }
      const content = ownData(item, "content");
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
