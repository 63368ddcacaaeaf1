// Runs named calls one after another and prints what each did as one JSON object, for
// tests/test_clients.py to assert on: {"call": {"ok": true, ...facts} | {"ok": false, "error"}}.
import fs from "node:fs";

export const base = process.env.STUDIO_URL + "/v1";
export const apiKey = process.env.STUDIO_KEY;
export const imagePath = process.env.IMAGE_PATH;
export const imageBytes = () => new Uint8Array(fs.readFileSync(imagePath));

const results = {};

export async function call(name, fn) {
  try {
    results[name] = { ok: true, ...(await fn()) };
  } catch (error) {
    results[name] = {
      ok: false,
      error: String(error?.message ?? error).slice(0, 500),
      status: error?.status ?? error?.statusCode ?? null,
    };
  }
}

export function report() {
  process.stdout.write(JSON.stringify(results) + "\n");
}

// What a picture is, from its first bytes.
export function kind(bytes) {
  const b = Buffer.from(bytes);
  if (b.subarray(0, 8).equals(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]))) return "png";
  if (b[0] === 0xff && b[1] === 0xd8) return "jpeg";
  if (b.subarray(0, 4).toString() === "RIFF" && b.subarray(8, 12).toString() === "WEBP") return "webp";
  if (b.subarray(4, 8).toString() === "ftyp") return "mp4";
  return "unknown";
}
