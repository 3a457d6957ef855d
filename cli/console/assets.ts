/**
 * The console page: plain HTML, CSS and JavaScript, imported as text so that the bundle and the
 * compiled binary carry them (no build step, no network beyond the console's address).
 *
 * @module
 */
import html from "./assets/index.html" with { type: "text" };
import css from "./assets/console.css" with { type: "text" };
import js from "./assets/console.js" with { type: "text" };
import detailJs from "./assets/console_detail.js" with { type: "text" };

/** The page's files by request path. */
export const PAGE_ASSETS: Readonly<Record<string, { text: string; type: string }>> = {
  "/": { text: html, type: "text/html; charset=utf-8" },
  "/console.css": { text: css, type: "text/css; charset=utf-8" },
  "/console.js": { text: js, type: "text/javascript; charset=utf-8" },
  "/console_detail.js": { text: detailJs, type: "text/javascript; charset=utf-8" },
};
