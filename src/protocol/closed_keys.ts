/**
 * Closed key sets: the one check of every caller object whose keys are fixed (the client's
 * options, the per-request options, the layers' and the language model's settings). An unknown
 * key is a `TypeError` that names it and suggests the right one (the peers' names, a case- and
 * separator-blind match, the edit distance), never silently dropped: a dropped `baseURL` would
 * send the caller's traffic, API key included, to the default router.
 *
 * Only own data properties are read. A known key the caller's own prototype holds
 * (`Object.create(defaults)`, a class getter) or an own getter is refused: it was meant, and
 * reading it would run the caller's code or be dropped. A key on `Object.prototype` itself (a
 * prototype pollution somewhere in the host program) is ignored: it changes nothing.
 *
 * No message ever holds a value; keys are shown quoted, escaped and cut at 64 characters.
 *
 * @module
 */

/** The table of one closed key set; every door passes its own. */
export interface ClosedKeys {
  /** What the check is for, after "Cannot " in messages: `"create client"`. */
  readonly action: string;
  /** What one key is, in messages: `"option"`, `"request option"`. */
  readonly label: string;
  /** Every key the object may have. */
  readonly known: ReadonlyArray<string>;
  /** The keys listed when nothing close matched (default: `known`). */
  readonly listed?: ReadonlyArray<string>;
  /** Names used elsewhere (the peers, habit) → the name to suggest. */
  readonly renamed?: Readonly<Record<string, string>>;
  /** Keys with no equivalent here → what to do instead. */
  readonly notes?: Readonly<Record<string, string>>;
  /** The name suggested for a known key (an alias suggests its canonical name). */
  readonly suggest?: (known: string) => string;
}

/**
 * Lower case, without `_`, `-` or spaces: `api_key`, `APIKEY` and `apiKey` are the same.
 *
 * @param key A key.
 * @returns The folded key.
 */
export const fold = (key: string): string => key.toLowerCase().replace(/[_\-\s]/g, "");

const editDistance = (a: string, b: string): number => {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(previous[j]! + 1, row[j - 1]! + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length]!;
};

const own = (table: Readonly<Record<string, string>> | undefined, key: string) =>
  table !== undefined && Object.hasOwn(table, key) ? table[key] : undefined;

/** The key the caller probably meant by `key`, if any. */
const suggestionFor = (key: string, keys: ClosedKeys): string | undefined => {
  const suggest = keys.suggest ?? ((k: string) => k);
  const renamed = own(keys.renamed, key);
  if (renamed !== undefined) return renamed;
  if (key.length > 64) return undefined; // no key is that long; spare the edit distance
  const folded = fold(key);
  const foldedRename = Object.entries(keys.renamed ?? {}).find(([name]) => fold(name) === folded);
  if (foldedRename !== undefined) return foldedRename[1];
  const same = keys.known.find((known) => fold(known) === folded);
  if (same !== undefined) return suggest(same);
  let best: { key: string; distance: number } | undefined;
  for (const known of keys.known) {
    const distance = editDistance(folded, fold(known));
    if (best === undefined || distance < best.distance) best = { key: known, distance };
  }
  const allowed = folded.length <= 4 ? 1 : folded.length <= 8 ? 2 : 3;
  return best !== undefined && best.distance <= allowed ? suggest(best.key) : undefined;
};

/**
 * How a key the caller gave is shown: quoted, control characters escaped, cut at 64.
 *
 * @param key The key.
 * @returns It, safe for a message.
 */
export const showKey = (key: PropertyKey): string => JSON.stringify(String(key).slice(0, 64));

/** Unknown keys named in one message; the others are counted. */
const MAX_NAMED = 5;

/** `a, b and c`. */
const list = (names: ReadonlyArray<string>): string =>
  names.length <= 1
    ? names.join("")
    : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;

/**
 * The message of unknown keys: each named with what it probably meant, then the list of known
 * keys when one of them matched nothing.
 *
 * @param all The unknown keys.
 * @param keys The table.
 * @returns The message, without the "Cannot …:" prefix.
 */
export const unknownKeysMessage = (all: ReadonlyArray<PropertyKey>, keys: ClosedKeys): string => {
  const named = all.slice(0, MAX_NAMED);
  const hints = named.map((key) => {
    if (typeof key !== "string") return undefined;
    const note = own(keys.notes, key);
    if (note !== undefined) return `unknown ${keys.label} ${showKey(key)} (${note})`;
    const meant = suggestionFor(key, keys);
    return meant === undefined
      ? undefined
      : `unknown ${keys.label} ${showKey(key)} (did you mean "${meant}"?)`;
  });
  const parts = hints.map((hint, i) => hint ?? `unknown ${keys.label} ${showKey(named[i]!)}`);
  if (all.length > named.length) {
    parts.push(`${all.length - named.length} more unknown ${keys.label}s`);
  }
  if (hints.every((hint) => hint !== undefined)) return parts.join("; ");
  return `${parts.join("; ")} (the ${keys.label}s are ${list(keys.listed ?? keys.known)})`;
};

/**
 * Whether a prototype of `value` other than `Object.prototype` holds `key`: the caller's own
 * defaults (`Object.create(defaults)`, a class), as opposed to a polluted `Object.prototype`.
 *
 * @param value The object.
 * @param key The key.
 * @returns `true` when the caller's prototype chain has it.
 */
export const isInheritedFromCaller = (value: object, key: string): boolean => {
  for (
    let proto = Object.getPrototypeOf(value);
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    if (Object.hasOwn(proto, key)) return true;
  }
  return false;
};

/**
 * The value of an own data property, else `undefined`: never a getter's (it is not run), never
 * an inherited one (a polluted `Object.prototype` changes nothing).
 *
 * @param value The object.
 * @param key The key.
 * @returns The value.
 */
export const ownData = (value: object, key: string): unknown => {
  const descriptor = Object.getOwnPropertyDescriptor(value, key);
  return descriptor !== undefined && "value" in descriptor ? descriptor.value : undefined;
};

/**
 * Why `value`'s keys are refused, or `undefined` when they are not: every unknown own key
 * (strings and symbols) in one message; else a known key that is the caller's inherited one or
 * an own getter.
 *
 * @param value The caller's object (already known to be an object).
 * @param keys The table.
 * @returns The `TypeError` ("Cannot <action>: …"), or `undefined`.
 */
export const closedKeysError = (value: object, keys: ClosedKeys): TypeError | undefined => {
  const refuse = (what: string) => new TypeError(`Cannot ${keys.action}: ${what}`);
  const unknown = Reflect.ownKeys(value).filter((key) =>
    typeof key !== "string" || !keys.known.includes(key)
  );
  if (unknown.length > 0) return refuse(unknownKeysMessage(unknown, keys));
  for (const key of keys.known) {
    if (!Object.hasOwn(value, key)) {
      if (isInheritedFromCaller(value, key)) {
        return refuse(
          `${keys.label} ${key} is inherited, not an own property; pass a plain object`,
        );
      }
    } else if (!("value" in Object.getOwnPropertyDescriptor(value, key)!)) {
      return refuse(`${keys.label} ${key} is a getter, not a data property; pass a plain object`);
    }
  }
  return undefined;
};
