import { html, type SafeHtml } from "../views/html.ts";

/** One service on the account page: where it is, its name, and one line on what is there. */
export type ServiceTile = { href: string; title: string; description: string };

/**
 * The account page's services (アカウントサービス) as tiles, as a Japanese shop's account page shows
 * them: a grid of cards, each card one link whose name is its title and its description, so a tap
 * anywhere on the card opens it (public/mamori.css, "Account service tiles").
 */
export function accountServiceTiles(tiles: readonly ServiceTile[]): SafeHtml {
  return html`<ul class="tiles">
${tiles.map(
  (tile) =>
    html`  <li><a class="tile" href="${tile.href}"><span class="tile-title">${tile.title}</span> <span class="tile-description">${tile.description}</span></a></li>
`,
)}</ul>`;
}
