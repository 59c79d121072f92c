/**
 * The `tools` and `tool_choice` of a Responses request in Chat's shape: flat function tools
 * nested as `{ type: "function", function: { … } }`, built-in tools refused.
 *
 * @module
 */
import type { Tool } from "../protocol/chat.ts";
import {
  arrayAt,
  booleanAt,
  BUILT_IN,
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
export const translateTools = (value: unknown): { chat: Tool[]; echo: Json[] } => {
  const chat: Tool[] = [];
  const echo: Json[] = [];
  arrayAt(value, "tools").forEach((raw, i) => {
    const at = `tools[${i}]`;
    const [tool, type] = partType(raw, at);
    if (type !== "function") {
      return unsupported(`${at}.type`, `${quote(type)}: ${BUILT_IN}`);
    }
    closedKeys(tool, FUNCTION_TOOL_KEYS, at);
    const callers = ownData(tool, "allowed_callers");
    if (!isUnset(callers)) {
      const list = arrayAt(callers, `${at}.allowed_callers`);
      if (list.some((c) => c !== "direct")) {
        unsupported(`${at}.allowed_callers`, "programmatic tool calling runs on OpenAI's servers");
      }
    }
    onlyUnset(ownData(tool, "async"), `${at}.async`, "asynchronous calls have no chat form", false);
    onlyUnset(
      ownData(tool, "defer_loading"),
      `${at}.defer_loading`,
      "tool search has no chat form",
      false,
    );
    onlyUnset(
      ownData(tool, "output_schema"),
      `${at}.output_schema`,
      "output schemas have no chat form",
    );
    const name = stringAt(ownData(tool, "name"), `${at}.name`);
    const description = ownData(tool, "description");
    const parameters = ownData(tool, "parameters");
    const strict = ownData(tool, "strict");
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
export const translateToolChoice = (value: unknown): unknown => {
  if (typeof value === "string") {
    return TOOL_CHOICE_MODES.has(value)
      ? value
      : refuse("tool_choice", "invalid_value", `${quote(value)} is not none, auto or required`);
  }
  const [choice, type] = partType(value, "tool_choice");
  const named = (o: Json, at: string): Json => {
    closedKeys(o, new Set(["type", "name"]), at);
    return { type: "function", function: { name: stringAt(ownData(o, "name"), `${at}.name`) } };
  };
  if (type === "function") return named(choice, "tool_choice");
  if (type === "allowed_tools") {
    closedKeys(choice, new Set(["type", "mode", "tools"]), "tool_choice");
    const mode = stringAt(ownData(choice, "mode"), "tool_choice.mode");
    if (mode !== "auto" && mode !== "required") {
      refuse("tool_choice.mode", "invalid_value", "must be auto or required");
    }
    const tools = arrayAt(ownData(choice, "tools"), "tool_choice.tools").map((raw, i) => {
      const at = `tool_choice.tools[${i}]`;
      const [tool, kind] = partType(raw, at);
      return kind === "function" ? named(tool, at) : unsupported(`${at}.type`, BUILT_IN);
    });
    return { type: "allowed_tools", allowed_tools: { mode, tools } };
  }
  return unsupported("tool_choice.type", `${quote(type)}: ${BUILT_IN}`);
};
