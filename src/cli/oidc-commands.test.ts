import assert from "node:assert/strict";
import { test } from "node:test";
import { cliOnTestDatabase } from "../../test/support/cli.ts";
import { loadConfig } from "../config/config.ts";
import { decryptSecret } from "../crypto/encryption.ts";

// `mamori clients …` and `mamori oidc rotate-keys`, with the configuration from the environment.
const cli = cliOnTestDatabase("cli-oidc");
const { mamori } = cli;

test("clients create prints the client id and secret once, and keeps the secret only encrypted", async () => {
  const run = await mamori(
    "clients",
    "create",
    "--name",
    "山田商店",
    "--redirect-uri",
    "https://shop.example.jp/callback",
    "--redirect-uri",
    "http://127.0.0.1:8080/callback",
    "--post-logout-redirect-uri",
    "https://shop.example.jp/",
    "--require-two-step",
  );
  assert.equal(run.status, 0, run.err);
  const clientId = /client_id: (\S+)/.exec(run.out)?.[1];
  const secret = /client_secret: (\S+)/.exec(run.out)?.[1];
  assert.ok(clientId && secret);
  assert.match(run.out, /issuer: http:\/\/localhost:3000\/oidc/);
  const row = await cli
    .db()
    .selectFrom("oidc_client")
    .selectAll()
    .where("id", "=", clientId)
    .executeTakeFirstOrThrow();
  assert.equal(row.name, "山田商店");
  assert.equal(row.require_two_step, 1);
  assert.deepEqual(JSON.parse(row.redirect_uris), [
    "https://shop.example.jp/callback",
    "http://127.0.0.1:8080/callback",
  ]);
  assert.ok(!row.secret_encrypted.includes(secret), "the secret is not stored in plain");
  const keys = loadConfig({ NODE_ENV: "test" }).secretKeys;
  assert.equal(
    decryptSecret(keys, row.secret_encrypted, `oidc client secret ${clientId}`)?.toString(),
    secret,
  );

  const listed = await mamori("clients", "list");
  assert.equal(listed.status, 0);
  assert.ok(!listed.out.includes(secret), "list never prints a secret");
  const clients = JSON.parse(listed.out) as { clientId: string; requireTwoStep: boolean }[];
  assert.ok(clients.some((c) => c.clientId === clientId && c.requireTwoStep));

  assert.equal((await mamori("clients", "delete", clientId)).status, 0);
  assert.equal((await mamori("clients", "delete", clientId)).status, 1, "already gone");
  assert.equal(
    await cli.db().selectFrom("oidc_client").select("id").where("id", "=", clientId).executeTakeFirst(),
    undefined,
  );
});

test("clients create refuses a redirect URI that is not https, has a fragment, or is not a URL", async () => {
  for (const uri of ["ftp://shop.example.jp/cb", "https://shop.example.jp/cb#x", "callback"]) {
    const run = await mamori("clients", "create", "--name", "Shop", "--redirect-uri", uri);
    assert.equal(run.status, 1, `${uri}: ${run.out}`);
    assert.ok(run.err.length > 0);
  }
  const missing = await mamori("clients", "create", "--name", "Shop");
  assert.equal(missing.status, 2);
  assert.match(missing.err, /--redirect-uri/);
  assert.equal((await cli.db().selectFrom("oidc_client").select("id").execute()).length, 0);
});

test("oidc rotate-keys makes a new signing key and keeps the previous one published", async () => {
  const first = await mamori("oidc", "rotate-keys");
  assert.equal(first.status, 0, first.err);
  const firstKid = /new signing key: (\S+)/.exec(first.out)?.[1];
  const second = await mamori("oidc", "rotate-keys");
  assert.match(second.out, new RegExp(`still published until the next rotation: ${firstKid}`));
  const states = await cli
    .db()
    .selectFrom("oidc_signing_key")
    .select(["id", "state"])
    .orderBy("created_at")
    .execute();
  assert.deepEqual(
    states.map((k) => k.state),
    ["previous", "current"],
  );
});

test("clients create --device registers a public device client: no secret printed or stored, no redirect URIs", async () => {
  const run = await mamori("clients", "create", "--device", "--name", "テレビアプリ");
  assert.equal(run.status, 0, run.err);
  const clientId = /client_id: (\S+)/.exec(run.out)?.[1];
  assert.ok(clientId);
  assert.doesNotMatch(run.out, /client_secret/);
  const row = await cli
    .db()
    .selectFrom("oidc_client")
    .selectAll()
    .where("id", "=", clientId)
    .executeTakeFirstOrThrow();
  assert.equal(row.device_flow, 1);
  assert.equal(row.secret_encrypted, "");
  assert.deepEqual(JSON.parse(row.redirect_uris), []);
  const listed = JSON.parse((await mamori("clients", "list")).out) as {
    clientId: string;
    deviceFlow: boolean;
  }[];
  assert.ok(listed.some((c) => c.clientId === clientId && c.deviceFlow));
  // A device has no browser to send back to: a redirect URI is a mistake, said so.
  const mixed = await mamori(
    "clients",
    "create",
    "--device",
    "--name",
    "x",
    "--redirect-uri",
    "https://shop.example.jp/callback",
  );
  assert.equal(mixed.status, 2);
  assert.match(mixed.err, /no redirect URIs/);
});

test("clients create --public registers an app without a secret, and --backchannel-logout-uri where the shop hears of sign-outs", async () => {
  const run = await mamori(
    "clients",
    "create",
    "--name",
    "やまだ商店アプリ",
    "--public",
    "--redirect-uri",
    "http://127.0.0.1/callback",
    "--redirect-uri",
    "jp.example.shop:/callback",
    "--backchannel-logout-uri",
    "https://shop.example.jp/backchannel-logout",
  );
  assert.equal(run.status, 0, run.err);
  assert.doesNotMatch(run.out, /client_secret/, "a public client has no secret to print");
  const clientId = /client_id: (\S+)/.exec(run.out)?.[1];
  assert.ok(clientId);
  const listed = JSON.parse((await mamori("clients", "list")).out) as {
    clientId: string;
    public: boolean;
    backchannelLogoutUri: string | null;
  }[];
  const client = listed.find((c) => c.clientId === clientId);
  assert.equal(client?.public, true);
  assert.equal(client?.backchannelLogoutUri, "https://shop.example.jp/backchannel-logout");

  // A private-use scheme is an app's: a confidential (server) client may not register one, and a
  // scheme that is not a reverse domain name (any app could claim "myapp:") is refused to apps too.
  const server = await mamori(
    "clients",
    "create",
    "--name",
    "S",
    "--redirect-uri",
    "jp.example.shop:/callback",
  );
  assert.equal(server.status, 1);
  const bare = await mamori(
    "clients",
    "create",
    "--name",
    "A",
    "--public",
    "--redirect-uri",
    "myapp:/callback",
  );
  assert.equal(bare.status, 1);
  const badLogout = await mamori(
    "clients",
    "create",
    "--name",
    "S",
    "--redirect-uri",
    "https://shop.example.jp/callback",
    "--backchannel-logout-uri",
    "ftp://shop.example.jp/logout",
  );
  assert.equal(badLogout.status, 1);
});

test("clients create --client-uri keeps the shop's home page; javascript: and other non-https URIs are refused", async () => {
  // The attack: 「やまだ商店に戻る」 on Mamori's pages leads to the client URI; a javascript: or data:
  // URI registered there would run a script on Mamori's origin when a customer clicks it.
  for (const uri of ["javascript:alert(1)", "data:text/html,hi", "http://shop.example.jp/", "/shop"]) {
    const refused = await mamori(
      "clients",
      "create",
      "--name",
      "やまだ商店",
      "--redirect-uri",
      "https://shop.example.jp/callback",
      "--client-uri",
      uri,
    );
    assert.equal(refused.status, 1, uri);
    assert.match(refused.err, /client URI must be https:\/\/|not an absolute URL/, uri);
  }
  const run = await mamori(
    "clients",
    "create",
    "--name",
    "やまだ商店",
    "--redirect-uri",
    "https://shop.example.jp/callback",
    "--client-uri",
    "https://shop.example.jp/",
  );
  assert.equal(run.status, 0, run.err);
  const clientId = /client_id: (\S+)/.exec(run.out)?.[1];
  assert.ok(clientId);
  const listed = () =>
    mamori("clients", "list").then((r) =>
      (JSON.parse(r.out) as { clientId: string; clientUri: string | null }[]).find(
        (c) => c.clientId === clientId,
      ),
    );
  assert.equal((await listed())?.clientUri, "https://shop.example.jp/");

  const bad = await mamori("clients", "set-client-uri", clientId, "--client-uri", "javascript:alert(1)");
  assert.equal(bad.status, 1);
  assert.equal((await listed())?.clientUri, "https://shop.example.jp/", "unchanged");
  const changed = await mamori(
    "clients",
    "set-client-uri",
    clientId,
    "--client-uri",
    "https://shop.example.jp/top",
  );
  assert.equal(changed.status, 0, changed.err);
  assert.equal((await listed())?.clientUri, "https://shop.example.jp/top");
  assert.equal(
    (await mamori("clients", "set-client-uri", "cli_nosuch", "--client-uri", "https://a.example/")).status,
    1,
  );
  assert.equal((await mamori("clients", "set-client-uri", clientId)).status, 2, "no --client-uri: usage");
});
