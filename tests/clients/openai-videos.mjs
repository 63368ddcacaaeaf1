// The openai Node SDK's Videos API, as its README shows it: create, poll, download, list, delete.
import fs from "node:fs";
import OpenAI from "openai";
import { apiKey, base, call, imagePath, kind, report } from "./harness.mjs";

const client = new OpenAI({ baseURL: base, apiKey, maxRetries: 0 });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function finished(id) {
  for (let i = 0; i < 240; i++) {
    const video = await client.videos.retrieve(id);
    if (video.status === "completed" || video.status === "failed") return video;
    await sleep(500);
  }
  throw new Error(`video ${id} did not finish`);
}

let id;
await call("videos.create", async () => {
  const video = await client.videos.create({ model: "veo", prompt: "waves at dusk", seconds: "2", size: "1280x720" });
  id = video.id;
  return { status: video.status, object: video.object, seconds: video.seconds };
});
await call("videos.retrieve until completed", async () => {
  const video = await finished(id);
  return { status: video.status, progress: video.progress, size: video.size };
});
await call("videos.downloadContent", async () => {
  const response = await client.videos.downloadContent(id);
  return { kind: kind(new Uint8Array(await response.arrayBuffer())) };
});
await call("videos.downloadContent thumbnail", async () => {
  const response = await client.videos.downloadContent(id, { variant: "thumbnail" });
  return { kind: kind(new Uint8Array(await response.arrayBuffer())) };
});
await call("videos.list", async () => {
  const page = await client.videos.list({ limit: 10 });
  return { ids: page.data.map((v) => v.id), listed: page.data.some((v) => v.id === id) };
});
await call("videos.create input_reference createReadStream", async () => {
  const video = await client.videos.create({
    model: "kling", prompt: "slow push-in", seconds: "1", size: "1280x720",
    input_reference: fs.createReadStream(imagePath),
  });
  const done = await finished(video.id);
  return { status: done.status };
});
await call("videos.delete", async () => {
  const deleted = await client.videos.delete(id);
  return { deleted: deleted.deleted, object: deleted.object };
});
report();
