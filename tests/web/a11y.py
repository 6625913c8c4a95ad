"""An accessibility check without a network (WCAG 2.1 AA, the parts a DOM shows): the page
says it is Swedish, has a title and one h1, headings do not skip a level, every field has a
label, every table a caption, every button a name, every chart a text alternative, and text has
a contrast of at least 4.5:1 against its background."""

from __future__ import annotations

from playwright.async_api import Page

_CHECK = """
() => {
  const problems = [];
  const html = document.documentElement;
  if (html.lang !== "sv") problems.push(`<html lang="${html.lang}">, not sv`);
  if (!document.title.trim()) problems.push("no <title>");
  const h1 = document.querySelectorAll("h1").length;
  if (h1 !== 1) problems.push(`${h1} h1 elements, not one`);
  let level = 0;
  for (const h of document.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    const n = Number(h.tagName[1]);
    if (n > level + 1) problems.push(`${h.tagName} "${h.textContent.trim()}" skips a level`);
    level = n;
  }
  for (const el of document.querySelectorAll("input:not([type=hidden]), select, textarea")) {
    const byFor = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
    if (!byFor && !el.closest("label") && !el.getAttribute("aria-label")
        && !el.getAttribute("aria-labelledby")) {
      problems.push(`field ${el.name || el.outerHTML} has no label`);
    }
  }
  for (const t of document.querySelectorAll("table")) {
    if (!t.querySelector(":scope > caption")) problems.push(`table #${t.id} has no caption`);
  }
  for (const b of document.querySelectorAll("button")) {
    if (!b.textContent.trim() && !b.getAttribute("aria-label")) problems.push("unnamed button");
  }
  for (const svg of document.querySelectorAll("svg")) {
    if (svg.getAttribute("role") !== "img" || !svg.getAttribute("aria-label")) {
      problems.push("a chart without role=img and a label");
    }
  }
  const rgb = (s) => (s.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const el = walker.currentNode.parentElement;
    if (!walker.currentNode.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || el.closest(".skip")) continue;
    let fg = rgb(style.color).slice(0, 3);
    if (el.closest("svg")) fg = rgb(style.fill).slice(0, 3);
    const [a, b] = [lum(fg), lum(background(el))].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    if (ratio < 4.5) {
      problems.push(`contrast ${ratio.toFixed(2)}:1 for "${el.textContent.trim().slice(0, 40)}"`);
    }
  }
  return problems;
}
"""


async def accessibility_problems(page: Page) -> list[str]:
    problems: list[str] = await page.evaluate(_CHECK)
    return problems
