import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { runPasswordsCli } from "./passwords.ts";

function run(args: string, env: NodeJS.ProcessEnv = { LANG: "en_US.UTF-8" }) {
  const out: string[] = [];
  const err: string[] = [];
  const status = runPasswordsCli(
    args.split(" ").filter(Boolean),
    { out: (t) => out.push(t), err: (t) => err.push(t) },
    env,
  );
  return { status, out: out.join("\n"), err: err.join("\n") };
}

describe("mamori passwords", () => {
  it("--length 20 --count 5 --no-symbols: five passwords of letters and digits", () => {
    const { status, out, err } = run("--length 20 --count 5 --no-symbols");
    assert.equal(status, 0, err);
    const lines = out.split("\n");
    assert.equal(lines.length, 5);
    for (const line of lines) assert.match(line, /^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)[A-Za-z\d]{20}$/);
    assert.equal(err, "");
  });

  it("--passphrase --words 6: six words from the list", () => {
    const { status, out } = run("--passphrase --words 6 --separator _ --capitalize");
    assert.equal(status, 0);
    assert.match(out, /^[A-Z][a-z-]+(_[A-Z][a-z-]+){5}$/);
  });

  it("--format csv and json", () => {
    const csv = run("--count 3 --format csv");
    const [header, ...rows] = csv.out.split("\n");
    assert.equal(header, "password,entropy_bits,strength");
    assert.equal(rows.length, 3);
    const json = JSON.parse(run("--format json --count 2 --length 32").out);
    assert.equal(json.passwords.length, 2);
    assert.equal(json.strength, "very_strong");
    assert.equal(json.policy.ok, true);
  });

  it("exits 1 with the reason on impossible options, in Japanese for a Japanese locale", () => {
    const none = run("--no-uppercase --no-lowercase --no-digits --no-symbols");
    assert.deepEqual([none.status, none.out, none.err], [1, "", "Choose at least one kind of character."]);
    const ja = run("--length 8 --min-digits 5 --min-symbols 5", { LANG: "ja_JP.UTF-8" });
    assert.equal(ja.status, 1);
    assert.equal(ja.err, "最低数の合計（12文字）が文字数（8文字）を超えています。");
    assert.equal(run("--length 200").status, 1);
  });

  it("exits 2 with usage on a malformed option", () => {
    for (const args of ["--length abc", "--format pdf", "--colour red", "extra"]) {
      const { status, err } = run(args);
      assert.equal(status, 2, args);
      assert.match(err, /Usage: mamori passwords/, args);
    }
  });

  it("says on stderr when the list is too short for this site, and still prints it", () => {
    const { status, out, err } = run("--length 8");
    assert.equal(status, 0);
    assert.equal(out.length, 8);
    assert.match(err, /Too short to use on this site/);
  });
});
