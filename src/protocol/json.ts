/**
 * JSON from outside, parsed with a bound on nesting. `JSON.parse` itself is iterative in every
 * runtime (10^6-deep input parses), but almost everything that walks the result afterwards is
 * recursive: Schema's error formatting, `JSON.stringify` (V8 overflows near 10^4), a caller's
 * own code. So a value nested deeper than {@linkcode MAX_JSON_DEPTH} is refused here, by an
 * iterative walk, before anything else sees it.
 *
 * @module
 */

/**
 * The deepest nesting of arrays and objects accepted (the outermost container is depth 1).
 * Chat completions nest about 6 deep; 64 leaves room for any extension field and stays far
 * below what recursive code can handle.
 */
export const MAX_JSON_DEPTH = 64;

/** What {@linkcode parseJsonBounded} gives. */
export type BoundedJson =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly reason: "syntax" | "depth" };

/**
 * Whether `value` nests arrays and objects at most `maxDepth` deep. Iterative, so any depth is
 * answered without growing the stack; only containers are visited (a long string or a wide
 * array of numbers costs one step per element at most).
 *
 * @param value A value made by `JSON.parse` (no cycles).
 * @param maxDepth The bound (default {@linkcode MAX_JSON_DEPTH}).
 * @returns `true` when it is within the bound.
 */
export const isWithinDepth = (value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean => {
  if (typeof value !== "object" || value === null) return true;
  // Pairs of (container, its depth); only containers are pushed and nothing is allocated per
  // node: this runs on every answer.
  const stack: unknown[] = [value, 1];
  const push = (child: unknown, depth: number): void => {
    if (typeof child === "object" && child !== null) stack.push(child, depth);
  };
  while (stack.length > 0) {
    const depth = stack.pop() as number;
    const node = stack.pop() as Record<string, unknown>;
    if (depth > maxDepth) return false;
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) push(node[i], depth + 1);
    } else {
      // Own keys only: a polluted `Object.prototype` is not walked.
      for (const key in node) if (Object.hasOwn(node, key)) push(node[key], depth + 1);
    }
  }
  return true;
};

/**
 * `JSON.parse(text)`, refusing text that is not JSON or nests deeper than `maxDepth`.
 *
 * @param text The JSON text.
 * @param maxDepth The bound (default {@linkcode MAX_JSON_DEPTH}).
 * @returns The value, or why it was refused.
 */
export const parseJsonBounded = (text: string, maxDepth: number = MAX_JSON_DEPTH): BoundedJson => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, reason: "syntax" };
  }
  return isWithinDepth(value, maxDepth) ? { ok: true, value } : { ok: false, reason: "depth" };
};

/**
 * Whether `value` is a JSON object: not `null`, not an array.
 *
 * @param value Any value.
 * @returns `true` for an object that is not an array.
 */
export const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Sets `key` on `target` as an own, enumerable, writable data property: no setter runs (not
 * even `Object.prototype`'s `__proto__`), so a key from outside stays a plain entry.
 *
 * @param target The object to set it on.
 * @param key The key.
 * @param value The value.
 */
export const defineOwn = (target: object, key: string, value: unknown): void => {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
};
