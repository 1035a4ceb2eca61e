import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../src/db/database.ts";
import { eventTimeoutMs, requestTimeoutMs, stopTimeoutMs } from "../support/patience.ts";

// `mamori serve --workers 2`: two processes share the port; a session made through one works on
// the other, a revocation holds on both at once, and a worker that dies is replaced. Which worker
// answered is read from the request log (pino writes each process's pid on every line), so the
// test fails if only one worker ever answers.

const root = fileURLToPath(new URL("../../", import.meta.url));
const node = join(root, "node_modules", ".bin", "node");

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

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  limitMs = eventTimeoutMs,
): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function workerPids(primary: ChildProcess): number[] {
  const out = execFileSync("ps", ["-o", "pid=", "--ppid", String(primary.pid)], { encoding: "utf8" });
  return out
    .split("\n")
    .map((line) => Number(line.trim()))
    .filter((pid) => pid > 0);
}

test("two workers share sessions and revocations, and a dead worker is replaced", async (t) => {
  const directory = mkdtempSync(join(tmpdir(), "mamori-workers-"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const databaseUrl = `sqlite:${join(directory, "mamori.db")}`;
  const primary = spawn(node, ["bin/mamori.js", "serve", "--workers", "2"], {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      NODE_ENV: "test",
      PORT: String(port),
      HOST: "127.0.0.1",
      DATABASE_URL: databaseUrl,
      MAMORI_PUBLIC_URL: url,
      MAMORI_ARGON2_MEMORY_KIB: "1024",
      MAMORI_ARGON2_ITERATIONS: "1",
      LOG_LEVEL: "info",
    },
  });
  // The pids of the processes that logged an incoming request for each URL.
  const answeredBy = new Map<string, Set<number>>();
  let pending = "";
  primary.stdout?.setEncoding("utf8");
  primary.stdout?.on("data", (chunk: string) => {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      try {
        const entry = JSON.parse(line) as { pid?: number; msg?: string; req?: { url?: string } };
        if (entry.msg !== "incoming request" || !entry.req?.url || !entry.pid) continue;
        const pids = answeredBy.get(entry.req.url) ?? new Set<number>();
        pids.add(entry.pid);
        answeredBy.set(entry.req.url, pids);
      } catch {
        // not a log line (the banner)
      }
    }
  });
  primary.stderr?.resume();
  t.after(async () => {
    const exited = new Promise((resolve) => primary.once("exit", resolve));
    primary.kill("SIGTERM");
    // A cap, not a wait: it ends as soon as the primary has exited.
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, stopTimeoutMs).unref())]);
    primary.kill("SIGKILL");
    rmSync(directory, { recursive: true, force: true });
  });
  await waitFor("two workers", async () => (workerPids(primary).length === 2 ? true : undefined));
  const workers = workerPids(primary);
  await waitFor("the port", async () =>
    (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(requestTimeoutMs) })).ok ? true : undefined,
  );

  // An account and a session, straight into the shared database.
  const registered = await fetch(`${url}/api/v1/registrations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    signal: AbortSignal.timeout(requestTimeoutMs),
    body: JSON.stringify({
      name: "並行 太郎",
      email: "workers@example.jp",
      password: "Kanata-Hoshi-5521-Umi",
    }),
  });
  assert.equal(registered.status, 201);
  const { registration } = (await registered.json()) as { registration: { id: string; flowToken: string } };
  const db = openDatabase(databaseUrl);
  t.after(() => db.destroy());
  const code = await waitFor("the code", async () => {
    const row = await db.selectFrom("outbox_message").select("dev_code").executeTakeFirst();
    return row?.dev_code ?? undefined;
  });
  const verified = await fetch(`${url}/api/v1/registrations/${registration.id}/verify`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-mamori-flow-token": registration.flowToken },
    body: JSON.stringify({ code, sessionType: "token" }),
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  assert.equal(verified.status, 201);
  const { session } = (await verified.json()) as { session: { token: string } };
  const check = async () =>
    (
      await fetch(`${url}/api/v1/session`, {
        headers: { authorization: `Bearer ${session.token}` },
        signal: AbortSignal.timeout(requestTimeoutMs),
      })
    ).status;

  // Many checks over new connections land on both workers; every one sees the session.
  const statuses = await Promise.all(Array.from({ length: 40 }, check));
  assert.deepEqual([...new Set(statuses)], [200]);
  // Both workers answered some of them (the log line may trail the answer a little).
  await waitFor("a session check logged by each worker", async () =>
    (answeredBy.get("/api/v1/session")?.size ?? 0) >= 2 ? true : undefined,
  );
  assert.deepEqual(
    [...(answeredBy.get("/api/v1/session") ?? [])].sort(),
    [...workers].sort(),
    "the checks were answered by the two workers, and only by them",
  );

  // Revoked through one request, refused by every worker at once.
  const signedOut = await fetch(`${url}/api/v1/session`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${session.token}` },
    signal: AbortSignal.timeout(requestTimeoutMs),
  });
  assert.equal(signedOut.status, 204);
  const after = await Promise.all(Array.from({ length: 40 }, check));
  assert.deepEqual([...new Set(after)], [401]);

  // A worker killed outright is replaced, and the service goes on.
  const [victim] = workerPids(primary);
  assert.ok(victim);
  process.kill(victim, "SIGKILL");
  await waitFor("a new worker", async () => {
    const pids = workerPids(primary);
    return pids.length === 2 && !pids.includes(victim) ? true : undefined;
  });
  assert.equal(
    (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(requestTimeoutMs) })).status,
    200,
  );
});
