import assert from "node:assert/strict";
import { test } from "node:test";
import { accountServiceTiles } from "./service-tiles.ts";

test("each account service is one tile, one link holding its title and its description", () => {
  const tiles = accountServiceTiles([
    { href: "/account/security", title: "ログインとセキュリティ", description: "名前、Eメールアドレス" },
    { href: "/account/sessions", title: "サインイン中の端末", description: "サインアウトできます" },
  ]).value;
  assert.equal(tiles.match(/<li>/g)?.length, 2);
  assert.equal(tiles.match(/<a /g)?.length, 2, "one link a tile");
  assert.match(
    tiles,
    /<li><a class="tile" href="\/account\/security"><span class="tile-title">ログインとセキュリティ<\/span> <span class="tile-description">名前、Eメールアドレス<\/span><\/a><\/li>/,
  );
});
