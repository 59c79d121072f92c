/** Builds deeply nested JSON text for the depth bomb tests. */

/** A JSON text nesting `depth` containers (arrays, objects or a seeded mix) around `leaf`. */
export const nested = (
  depth: number,
  next: () => number,
  shape: "array" | "object" | "mixed",
  leaf = "1",
): string => {
  const open: string[] = [];
  const close: string[] = [];
  for (let i = 0; i < depth; i++) {
    const array = shape === "array" || (shape === "mixed" && next() < 0.5);
    open.push(array ? "[" : '{"k":');
    close.push(array ? "]" : "}");
  }
  return open.join("") + leaf + close.reverse().join("");
};
