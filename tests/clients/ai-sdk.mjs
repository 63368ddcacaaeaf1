// The Vercel AI SDK's generateImage through @ai-sdk/openai and @ai-sdk/openai-compatible, as
// their docs show it: generation, and editing with `prompt: {text, images}`.
import { createOpenAI } from "@ai-sdk/openai";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { generateImage } from "ai";
import { apiKey, base, call, imageBytes, kind, report } from "./harness.mjs";

const openai = createOpenAI({ baseURL: base, apiKey });
const studio = createOpenAICompatible({ name: "studio", baseURL: base, apiKey });

const made = ({ image }) => ({ kind: kind(image.uint8Array), mediaType: image.mediaType });

await call("openai generate gpt-image-2", async () =>
  made(await generateImage({ model: openai.image("gpt-image-2"), prompt: "a red bicycle", size: "1024x1024", maxRetries: 0,
    providerOptions: { openai: { quality: "low" } } })));
await call("openai generate nano-banana", async () =>
  made(await generateImage({ model: openai.image("nano-banana"), prompt: "a lighthouse", maxRetries: 0 })));
await call("openai generate webp transparent", async () =>
  made(await generateImage({ model: openai.image("gpt-image-2"), prompt: "a red bicycle", maxRetries: 0,
    providerOptions: { openai: { quality: "low", outputFormat: "webp", background: "transparent" } } })));
await call("openai edit gpt-image-2", async () =>
  made(await generateImage({ model: openai.image("gpt-image-2"), maxRetries: 0,
    prompt: { text: "make it night", images: [imageBytes()] }, providerOptions: { openai: { quality: "low" } } })));
await call("openai edit nano-banana", async () =>
  made(await generateImage({ model: openai.image("nano-banana"), maxRetries: 0,
    prompt: { text: "make it night", images: [imageBytes()] } })));
await call("compatible generate nano-banana", async () =>
  made(await generateImage({ model: studio.imageModel("nano-banana"), prompt: "a lighthouse", maxRetries: 0 })));
await call("compatible edit nano-banana", async () =>
  made(await generateImage({ model: studio.imageModel("nano-banana"), maxRetries: 0,
    prompt: { text: "make it night", images: [imageBytes()] } })));
report();
