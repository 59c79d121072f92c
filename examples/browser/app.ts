/**
 * The browser example: a form that sends one end-to-end encrypted chat completion. Bundle it
 * with `deno bundle --platform browser` (see README.md); `ask()` is also what the headless
 * Chromium test in CI calls.
 *
 * In a browser the client's RSA key pair is made in the page with WebCrypto and is never
 * extractable; there are no key files (`keyDir` fails with a `KeyError`).
 */
import { NomyoError, SecureChatCompletion } from "../../mod.ts";

/**
 * Sends `prompt` to the router at `baseUrl`, encrypted, and returns the decrypted answer.
 *
 * @param baseUrl The router (`http://` is allowed for 127.0.0.1 and localhost only).
 * @param apiKey Its API key, or `""` for none.
 * @param prompt The user message.
 * @returns The answer's text.
 */
export const ask = async (baseUrl: string, apiKey: string, prompt: string): Promise<string> => {
  const local = /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?$/.test(baseUrl);
  await using client = new SecureChatCompletion({
    baseUrl,
    allowHttp: local,
    ...(apiKey === "" ? {} : { apiKey }),
  });
  const answer = await client.create({
    model: "Qwen/Qwen3-0.6B",
    messages: [{ role: "user", content: prompt }],
  });
  return answer.choices[0]?.message.content ?? "(no content)";
};

// The few DOM calls this page makes, typed here: `deno check` runs without the DOM library.
interface Field {
  value: string;
  textContent: string | null;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
}
const page = (globalThis as { document?: { getElementById(id: string): Field | null } }).document;
const field = (id: string): Field | null => page?.getElementById(id) ?? null;

const form = field("chat");
const out = field("out");
form?.addEventListener("submit", (event) => {
  event.preventDefault();
  if (out === null) return;
  out.textContent = "Encrypting and sending…";
  ask(field("router")?.value ?? "", field("key")?.value ?? "", field("prompt")?.value ?? "")
    .then((text) => out.textContent = text)
    .catch((error: unknown) => {
      // Library errors have a name to branch on (APIConnectionError for a router that refuses
      // this page's origin, AuthenticationError, …) and messages without secrets.
      out.textContent = error instanceof NomyoError
        ? `${error.name}: ${error.message}`
        : String(error);
    });
});
