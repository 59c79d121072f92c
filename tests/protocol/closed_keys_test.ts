/**
 * The one closed-keys check: unknown keys named with a suggestion, inherited keys and getters
 * refused (the getter never run), a polluted `Object.prototype` ignored, no value in a message.
 */
import assert from "node:assert/strict";
import {
  type ClosedKeys,
  closedKeysError,
  fold,
  ownData,
  unknownKeysMessage,
} from "../../src/protocol/closed_keys.ts";

const KEYS: ClosedKeys = {
  action: "do it",
  label: "setting",
  known: ["alpha", "betaGamma", "alias"],
  listed: ["alpha", "betaGamma"],
  renamed: { old_name: "alpha" },
  notes: { organization: "not a setting here" },
  suggest: (key) => key === "alias" ? "alpha" : key,
};

Deno.test("closedKeysError() names every unknown key with what it probably meant", () => {
  const error = closedKeysError({ beta_gamma: 1, old_name: 2, organization: 3 }, KEYS);
  assert.ok(error instanceof TypeError);
  assert.equal(
    error.message,
    'Cannot do it: unknown setting "beta_gamma" (did you mean "betaGamma"?); ' +
      'unknown setting "old_name" (did you mean "alpha"?); ' +
      'unknown setting "organization" (not a setting here)',
  );
});

Deno.test("closedKeysError() lists the known keys when nothing comes close, and suggests canonical names", () => {
  assert.equal(
    closedKeysError({ zzqqxx: "secret-value" }, KEYS)?.message,
    'Cannot do it: unknown setting "zzqqxx" (the settings are alpha and betaGamma)',
  );
  assert.match(closedKeysError({ ALIAS: 1 }, KEYS)!.message, /did you mean "alpha"\?/);
  assert.ok(!closedKeysError({ zzqqxx: "secret-value" }, KEYS)!.message.includes("secret"));
});

Deno.test("closedKeysError() refuses a key from the caller's prototype and an own getter, without running it", () => {
  assert.match(
    closedKeysError(Object.create({ alpha: 1 }), KEYS)!.message,
    /^Cannot do it: setting alpha is inherited, not an own property/,
  );
  let ran = false;
  const getter = Object.defineProperty({}, "alpha", {
    enumerable: true,
    get: () => {
      ran = true;
      return 1;
    },
  });
  assert.match(closedKeysError(getter, KEYS)!.message, /setting alpha is a getter/);
  assert.equal(ran, false);
  assert.equal(closedKeysError({ alpha: 1, betaGamma: undefined }, KEYS), undefined);
});

Deno.test("closedKeysError() and ownData() ignore a polluted Object.prototype", () => {
  Object.defineProperty(Object.prototype, "alpha", { value: "polluted", configurable: true });
  try {
    assert.equal(closedKeysError({}, KEYS), undefined);
    assert.equal(ownData({}, "alpha"), undefined);
    assert.equal(ownData({ alpha: 1 }, "alpha"), 1);
  } finally {
    delete (Object.prototype as Record<string, unknown>).alpha;
  }
});

Deno.test("unknownKeysMessage() shows symbols and control characters safely, and counts the rest", () => {
  const message = unknownKeysMessage(
    [Symbol("s"), "a\nb", ...Array.from({ length: 10 }, (_, i) => `x${i}`)],
    KEYS,
  );
  assert.match(message, /unknown setting "Symbol\(s\)"/);
  assert.ok(message.includes('"a\\nb"') && !message.includes("\n"));
  assert.match(message, /7 more unknown settings/);
  assert.equal(fold("API_key-Name x"), "apikeynamex");
});
