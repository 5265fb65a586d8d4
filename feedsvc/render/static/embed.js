// feedsvc embed (docs/urls.md): <script type="module" src="…/embed.js"></script> and
// <feedsvc-feed src="…/category/x.json" limit="5">fallback</feedsvc-feed>.
// Fetches the JSON Feed (CORS) and renders the markup of /embed/{feed}.html in the light
// DOM in place of the fallback, which stays when anything fails. Feed text is only ever
// set as text (textContent, attribute values): never parsed as HTML. No eval, no inline
// style, so it runs under a CSP that allows only this file's origin (and Trusted Types).
const DEFAULT_LIMIT = 5;
const MAX_LIMIT = 50;
const TIMEOUT_MS = 10000;

const text = (value) => (typeof value === "string" ? value : "");

function el(name, attrs, content) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value != null) node.setAttribute(key, value);
  }
  if (content != null) node.textContent = content;
  return node;
}

// An absolute http(s) URL, or null: a javascript: link never becomes a link.
function webUrl(value, base) {
  try {
    const url = new URL(text(value), base);
    return value && /^https?:$/.test(url.protocol) ? url.href : null;
  } catch {
    return null;
  }
}

// CLDR's long date, as the fragment's (Babel) is; English where the language is unknown.
function humanDate(iso, lang, timeZone) {
  let locale = "en";
  try {
    if (Intl.DateTimeFormat.supportedLocalesOf([lang]).length) locale = lang;
  } catch {}
  const date = new Date(iso);
  try {
    return new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone }).format(date);
  } catch {
    return new Intl.DateTimeFormat(locale, { dateStyle: "long", timeZone: "UTC" }).format(date);
  }
}

function heading(tag, label, href) {
  const node = el(tag);
  node.append(href ? el("a", { href }, label) : label);
  return node;
}

function render(feed, limit, base) {
  const site = feed._site || {};
  const lang = text(feed.language) || text(site.language) || "en";
  const timeZone = text(site.time_zone) || "UTC";
  const home = webUrl(feed.home_page_url, base);
  const section = el("section", { class: "feedsvc-embed", lang });
  section.append(heading("h2", text(feed.title) || home || "", home));
  for (const item of feed.items.slice(0, limit)) {
    const itemLang = text(item.language) || lang;
    const url = webUrl(item.url, base);
    const article = el("article", { lang: itemLang });
    article.append(heading("h3", text(item.title) || url || "", url));
    const published = text(item.date_published);
    if (published) {
      article.append(
        el("time", { datetime: published }, humanDate(published, itemLang, timeZone)),
      );
    }
    if (text(item.summary)) article.append(el("p", null, item.summary));
    const src = webUrl(item.image, base);
    if (src) {
      const image = item._image || {};
      const sized = Number.isInteger(image.width) && Number.isInteger(image.height);
      article.append(
        el("img", {
          src,
          loading: "lazy",
          decoding: "async",
          width: sized ? image.width : null,
          height: sized ? image.height : null,
          alt: text(image.alt),
        }),
      );
    }
    section.append(article);
  }
  return section;
}

class FeedsvcFeed extends HTMLElement {
  connectedCallback() {
    if (this.hasAttribute("state")) return;
    this.setAttribute("state", "waiting");
    // Fetch when the element comes near the viewport, as <img loading="lazy"> does: a
    // page of many embeds (or embeds in a closed <details>) costs nothing until seen.
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting)) {
          observer.disconnect();
          this.load();
        }
      },
      { rootMargin: "200px" },
    );
    observer.observe(this);
  }

  async load() {
    this.setAttribute("state", "loading");
    let limit = Number.parseInt(this.getAttribute("limit"), 10);
    if (!(limit >= 1)) limit = DEFAULT_LIMIT;
    const timeout = Number.parseInt(this.getAttribute("timeout"), 10) || TIMEOUT_MS;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    try {
      const url = new URL(this.getAttribute("src"), document.baseURI);
      const response = await fetch(url, { signal: controller.signal, credentials: "omit" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const feed = await response.json();
      this.replaceChildren(render(feed, Math.min(limit, MAX_LIMIT), url));
      this.setAttribute("state", "ready");
    } catch {
      // Network error, timeout, bad JSON, unexpected shape: the fallback stays.
      this.setAttribute("state", "failed");
    } finally {
      clearTimeout(timer);
    }
  }
}

if (!customElements.get("feedsvc-feed")) customElements.define("feedsvc-feed", FeedsvcFeed);
