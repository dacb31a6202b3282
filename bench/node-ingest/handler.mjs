// The Node.js 20 equivalent of the webhook's check, for `cargo bench -p bridge --bench ingest`:
// HMAC-SHA256 of the body as API Gateway hands it to a Node handler (a string), the header
// compared with crypto.timingSafeEqual, then JSON.parse. Also the bare HMAC of the same body.
//
// Usage: node handler.mjs <secret> <payload file> <signature header> [<file> <header> ...]
// Prints one line per payload: `<bytes> <handler ns> <hmac ns>` (median of 7 timed samples).
import { createHmac, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";

const [secret, ...pairs] = process.argv.slice(2);

function handle(header, body) {
  if (typeof header !== "string" || header.length !== 71 || !header.toLowerCase().startsWith("sha256=")) {
    return 403;
  }
  const given = Buffer.from(header.slice(7), "hex");
  const expected = createHmac("sha256", secret).update(body).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return 403;
  }
  try {
    JSON.parse(body);
  } catch {
    return 400;
  }
  return 200;
}

function hmacOnly(body) {
  return createHmac("sha256", secret).update(body).digest();
}

// Nanoseconds per call: the median of 7 samples of about 100 ms each, after a warm-up.
function time(f) {
  let iterations = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) f();
    if (Number(process.hrtime.bigint() - start) > 100e6) break;
    iterations *= 2;
  }
  const samples = [];
  for (let s = 0; s < 7; s++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) f();
    samples.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  samples.sort((a, b) => a - b);
  return samples[3];
}

for (let i = 0; i < pairs.length; i += 2) {
  const body = readFileSync(pairs[i], "utf8");
  const header = pairs[i + 1];
  if (handle(header, body) !== 200) {
    console.error(`the handler refused ${pairs[i]}`);
    process.exit(1);
  }
  const handler = time(() => handle(header, body));
  const hmac = time(() => hmacOnly(body));
  console.log(`${Buffer.byteLength(body)} ${handler.toFixed(0)} ${hmac.toFixed(0)}`);
}
