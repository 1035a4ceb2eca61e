import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { get } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventTimeoutMs, requestTimeoutMs, stopTimeoutMs } from "../support/patience.ts";

// `mamori serve --workers 2` with metrics on: the primary answers the scrape with both workers'
// figures summed. Requests go out on fresh connections, which the cluster deals out to both
// workers; a scrape that read one worker only would show about half of them.

const root = fileURLToPath(new URL("../../", import.meta.url));
const node = join(root, "node_modules", ".bin", "node");
const token = "workers-metrics-token-0123456789";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A GET on a connection of its own (no keep-alive), so the cluster may give it to either worker. */
function getOnFreshConnection(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = get(url, { agent: false, headers, timeout: requestTimeoutMs }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    request.on("timeout", () => request.destroy(new Error(`no answer from ${url}`)));
    request.on("error", reject);
  });
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + eventTimeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function sample(text: string, prefix: string): number {
  const line = text.split("\n").find((l) => l.startsWith(prefix));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

test("with two workers, the primary's scrape sums both workers' counts", async (t) => {
  const directory = mkdtempSync(join(tmpdir(), "mamori-metrics-workers-"));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const primary = spawn(node, ["bin/mamori.js", "serve", "--workers", "2"], {
    cwd: root,
    stdio: ["ignore", "ignore", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NODE_ENV: "test",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: `sqlite:${join(directory, "mamori.db")}`,
      MAMORI_PUBLIC_URL: url,
      MAMORI_METRICS_PORT: String(metricsPort),
      MAMORI_METRICS_TOKEN: token,
      LOG_LEVEL: "warn",
    },
  });
  let errors = "";
  primary.stderr?.setEncoding("utf8");
  primary.stderr?.on("data", (chunk: string) => {
    errors += chunk;
  });
  t.after(async () => {
    const exited = new Promise((resolve) => primary.once("exit", resolve));
    primary.kill("SIGTERM");
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, stopTimeoutMs).unref())]);
    primary.kill("SIGKILL");
    rmSync(directory, { recursive: true, force: true });
  });
  const auth = { authorization: `Bearer ${token}` };
  // Ready when the scrape shows both workers' answers to the health check (each counts its own).
  await waitFor("both workers serving", async () => {
    const health = await getOnFreshConnection(`${url}/healthz`);
    return health.status === 200 ? true : undefined;
  });
  const before = await waitFor("the scrape", async () => {
    const scraped = await getOnFreshConnection(metricsUrl, auth);
    return scraped.status === 200 ? scraped.body : undefined;
  });
  const requests = 40;
  for (let i = 0; i < requests; i++) {
    assert.equal((await getOnFreshConnection(`${url}/healthz`)).status, 200);
  }
  const after = await getOnFreshConnection(metricsUrl, auth);
  assert.equal(after.status, 200, errors);
  const line = 'mamori_http_requests_total{method="GET",route="/healthz",status="200"}';
  assert.equal(sample(after.body, line) - sample(before, line), requests, errors);
  assert.equal(sample(after.body, "mamori_database_up"), 1);
  // The token holds on the primary's port as on a single process's.
  assert.equal((await getOnFreshConnection(metricsUrl)).status, 401);
});
