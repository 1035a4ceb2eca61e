import { buildShop } from "./app.ts";

// node examples/shop/main.ts, with the client that `mamori clients create` printed:
//   SHOP_CLIENT_ID=cli_… SHOP_CLIENT_SECRET=… MAMORI_ISSUER=http://localhost:3000/oidc \
//   SHOP_URL=http://127.0.0.1:8080 node_modules/.bin/node examples/shop/main.ts
const required = (name: string): string => {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`${name} is required (see docs/integration.md)\n`);
    process.exit(2);
  }
  return value;
};

const baseUrl = new URL(process.env.SHOP_URL ?? "http://127.0.0.1:8080");
const issuer = new URL(process.env.MAMORI_ISSUER ?? "http://localhost:3000/oidc");
const shop = await buildShop({
  issuer,
  clientId: required("SHOP_CLIENT_ID"),
  clientSecret: required("SHOP_CLIENT_SECRET"),
  baseUrl,
  requireTwoStep: process.env.SHOP_REQUIRE_TWO_STEP === "true",
  allowHttp: issuer.protocol === "http:",
});
await shop.listen({ host: baseUrl.hostname, port: Number(baseUrl.port || 80) });
