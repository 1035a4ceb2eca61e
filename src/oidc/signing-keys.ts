import { generateKeyPairSync, type JsonWebKey } from "node:crypto";
import type { Kysely } from "kysely";
import { decryptSecret, encryptSecret } from "../crypto/encryption.ts";
import { newId } from "../crypto/secrets.ts";
import type { Schema } from "../db/schema.ts";
import type { Clock, Random } from "../deps.ts";

/**
 * The keys that sign ID tokens (RS256, RSA 2048). Stored encrypted in the database, so every
 * process signs with the same key; the JWKS publishes the current key and the previous one, so a
 * shop holding tokens signed before a rotation can still check them. `mamori oidc rotate-keys`
 * makes a new current key; the old current becomes previous, the old previous is retired.
 */
type KeyDeps = { clock: Clock; random: Random; secretKeys: readonly Buffer[] };

export type SigningJwk = JsonWebKey & { kid: string; alg: "RS256"; use: "sig" };

const purpose = (kid: string): string => `oidc signing key ${kid}`;

function generateSigningKey(random: KeyDeps["random"]): SigningJwk {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...privateKey.export({ format: "jwk" }), kid: newId(random, "key"), alg: "RS256", use: "sig" };
}

async function insertKey(db: Kysely<Schema>, deps: KeyDeps, state: "current"): Promise<SigningJwk> {
  const jwk = generateSigningKey(deps.random);
  await db
    .insertInto("oidc_signing_key")
    .values({
      id: jwk.kid,
      private_jwk_encrypted: encryptSecret(
        deps.secretKeys,
        Buffer.from(JSON.stringify(jwk)),
        purpose(jwk.kid),
      ),
      state,
      created_at: deps.clock.now().toISOString(),
      retired_at: null,
    })
    .execute();
  return jwk;
}

/**
 * The published keys, newest first: the current key (which signs) and the previous one. Makes
 * the first key when there is none. Two processes starting together may both make one; the newest
 * wins and the other is published as previous, which does no harm.
 */
export async function loadSigningKeys(db: Kysely<Schema>, deps: KeyDeps): Promise<SigningJwk[]> {
  let rows = await publishedKeyRows(db);
  if (!rows.some((row) => row.state === "current")) {
    await insertKey(db, deps, "current");
    rows = await publishedKeyRows(db);
  }
  const keys: SigningJwk[] = [];
  for (const row of rows) {
    const plain = decryptSecret(deps.secretKeys, row.private_jwk_encrypted, purpose(row.id));
    if (!plain) throw new Error(`OIDC signing key ${row.id} cannot be decrypted with MAMORI_SECRET_KEYS`);
    keys.push(JSON.parse(plain.toString("utf8")) as SigningJwk);
  }
  return keys;
}

function publishedKeyRows(db: Kysely<Schema>) {
  return (
    db
      .selectFrom("oidc_signing_key")
      .select(["id", "state", "private_jwk_encrypted"])
      .where("state", "in", ["current", "previous"])
      // "current" sorts before "previous": the signing key comes first.
      .orderBy("state")
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .execute()
  );
}

/** An identifier of the published key set: when it changes, a process rebuilds its provider. */
export async function signingKeySetVersion(db: Kysely<Schema>): Promise<string> {
  const rows = await db
    .selectFrom("oidc_signing_key")
    .select("id")
    .where("state", "in", ["current", "previous"])
    .orderBy("id")
    .execute();
  return rows.map((row) => row.id).join(",");
}

/** Makes a new current key; returns its kid and the kid it replaced (now previous). */
export async function rotateSigningKeys(
  db: Kysely<Schema>,
  deps: KeyDeps,
): Promise<{ current: string; previous: string | undefined }> {
  return db.transaction().execute(async (trx) => {
    const now = deps.clock.now().toISOString();
    const oldCurrent = await trx
      .selectFrom("oidc_signing_key")
      .select("id")
      .where("state", "=", "current")
      .orderBy("created_at", "desc")
      .executeTakeFirst();
    await trx
      .updateTable("oidc_signing_key")
      .set({ state: "retired", retired_at: now })
      .where("state", "=", "previous")
      .execute();
    if (oldCurrent) {
      await trx
        .updateTable("oidc_signing_key")
        .set({ state: "previous" })
        .where("state", "=", "current")
        .execute();
    }
    const jwk = await insertKey(trx, deps, "current");
    return { current: jwk.kid, previous: oldCurrent?.id };
  });
}
