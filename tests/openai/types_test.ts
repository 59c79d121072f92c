import type OpenAI from "npm:openai@7";
import type { ChatCompletion } from "../../src/protocol/chat.ts";
import { SecureChatCompletion } from "../../src/client/secure_chat_completion.ts";

type Assert<T extends true> = T;
declare const ours: ChatCompletion;
export const theirs: OpenAI.ChatCompletion = ours;
declare const params: OpenAI.ChatCompletionCreateParams;
declare const messages: OpenAI.ChatCompletionMessageParam[];
declare const client: SecureChatCompletion;
export const a = client.create(params);
export const b = client.create({ model: "m", messages });
export const c = client.chat.completions.create(params);
