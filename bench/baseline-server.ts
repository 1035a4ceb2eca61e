import { createServer } from "node:http";

// The yardstick for the session check: a bare node:http server answering a fixed JSON body of
// about the size of a `GET /api/v1/session` answer, with no routing, no database and no hooks.
const body = Buffer.from(
  JSON.stringify({
    account: {
      id: "acc_0000000000000000000000000",
      email: "bench-00000@example.com",
      name: "Bench Person 0",
      phone: null,
      locale: "ja",
      status: "active",
    },
    session: {
      id: "ses_0000000000000000000000000",
      createdAt: "2025-01-01T00:00:00.000Z",
      expiresAt: "2025-01-02T00:00:00.000Z",
      lastSeenAt: "2025-01-01T00:00:00.000Z",
    },
  }),
);

const port = Number(process.env.PORT ?? "0");
const host = process.env.HOST ?? "127.0.0.1";

const server = createServer((_request, response) => {
  response.writeHead(200, {
    "content-type": "application/json; charset=utf-8",
    "content-length": body.length,
  });
  response.end(body);
});

server.listen(port, host, () => {
  process.stdout.write(`baseline listening on ${host}:${port}\n`);
});

process.on("SIGTERM", () => server.close(() => process.exit(0)));
