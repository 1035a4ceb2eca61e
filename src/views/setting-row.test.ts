import assert from "node:assert/strict";
import { test } from "node:test";
import { settingRow } from "./setting-row.ts";

test("a settings row puts the name, the value and the action in cells of their own", () => {
  assert.equal(
    settingRow("氏名", "山田 花子", { href: "/account/security/name", text: "編集", label: "氏名を編集" })
      .value,
    '<div><dt>氏名</dt><dd class="value">山田 花子</dd><dd class="action"><a class="edit" href="/account/security/name" aria-label="氏名を編集">編集</a></dd></div>',
  );
});

test("a settings row without a fuller name has no aria-label, and one without an action no action cell", () => {
  assert.equal(
    settingRow("2段階認証", "オフ", { href: "/account/security/two-step", text: "高度なセキュリティ設定" })
      .value,
    '<div><dt>2段階認証</dt><dd class="value">オフ</dd><dd class="action"><a class="edit" href="/account/security/two-step">高度なセキュリティ設定</a></dd></div>',
  );
  assert.equal(
    settingRow("お店・アプリ", "なし").value,
    '<div><dt>お店・アプリ</dt><dd class="value">なし</dd></div>',
  );
});

test("a settings row escapes the value, so a name cannot inject markup", () => {
  // Attack: a name typed as markup, shown in its row on Login & security.
  assert.match(settingRow("氏名", '<img src=x onerror="alert(1)">').value, /<dd class="value">&lt;img src=x/);
});
