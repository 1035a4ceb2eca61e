import assert from "node:assert/strict";
import { test } from "node:test";
import { html, unsafeRaw } from "./html.ts";

test("interpolated text is escaped, so a name cannot inject markup", () => {
  // Attack: a name like <script> shown on the account page.
  const name = `<script>alert("x")</script>&'`;
  assert.equal(
    html`<p>${name}</p>`.value,
    "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;</p>",
  );
});

test("nested templates and lists are kept as markup, false and null render nothing", () => {
  const items = ["a", "<b>"].map((x) => html`<li>${x}</li>`);
  assert.equal(html`<ul>${items}${null}${false}</ul>`.value, "<ul><li>a</li><li>&lt;b&gt;</li></ul>");
  assert.equal(html`${unsafeRaw("<svg></svg>")}`.value, "<svg></svg>");
});
