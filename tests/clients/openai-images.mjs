// The openai Node SDK's image and model calls, as its README shows them.
import fs from "node:fs";
import OpenAI, { toFile } from "openai";
import { apiKey, base, call, imageBytes, imagePath, kind, report } from "./harness.mjs";

const client = new OpenAI({ baseURL: base, apiKey, maxRetries: 0 });

const picture = (item) => ({
  b64: item.b64_json ? kind(Buffer.from(item.b64_json, "base64")) : null,
  url: Boolean(item.url),
});

await call("images.generate gpt-image-2", async () => {
  const r = await client.images.generate({ model: "gpt-image-2", prompt: "a red bicycle", quality: "low" });
  return picture(r.data[0]);
});
await call("images.generate output_format=jpeg", async () => {
  const r = await client.images.generate({
    model: "gpt-image-2", prompt: "a red bicycle", quality: "low", output_format: "jpeg", output_compression: 60,
  });
  return picture(r.data[0]);
});
await call("images.edit createReadStream", async () => {
  const r = await client.images.edit({
    model: "nano-banana", image: fs.createReadStream(imagePath), prompt: "make it night",
  });
  return picture(r.data[0]);
});
await call("images.edit toFile", async () => {
  const r = await client.images.edit({
    model: "gpt-image-2", image: await toFile(imageBytes(), "in.png", { type: "image/png" }),
    prompt: "make it night", quality: "low",
  });
  return picture(r.data[0]);
});
await call("models.retrieve", async () => {
  const m = await client.models.retrieve("nano-banana-2");
  return { id: m.id, object: m.object };
});
await call("images.generate stream=true", async () => {
  try {
    await client.images.generate({ model: "gpt-image-2", prompt: "a kite", stream: true });
  } catch (error) {
    return { refused: error.status, message: error.message };
  }
  return { refused: null };
});
report();
