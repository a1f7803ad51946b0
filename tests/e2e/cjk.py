"""Does Chinese text really render in this Chromium? ``document.fonts.check`` says yes even with no CJK font
installed; pixels do not lie. Without a CJK font every Han character is drawn as the same empty box, so two
different characters give identical pictures, and the same picture as a private-use character (which no
font draws). With one, they differ."""

from __future__ import annotations

import cv2
import numpy as np
from playwright.sync_api import Page

_SPAN = """(text) => {
  const span = document.createElement('span');
  span.textContent = text;
  span.style.cssText = 'font-size:48px;line-height:1.2;display:inline-block;padding:4px;background:#fff;color:#000';
  document.querySelector('main').appendChild(span);
  return span;
}"""


def glyph(page: Page, text: str) -> np.ndarray:
    """``text`` drawn large in the page's own font (a span in <main>, removed again), as grey pixels."""
    handle = page.evaluate_handle(_SPAN, text)
    element = handle.as_element()
    assert element is not None
    try:
        png = element.screenshot()
    finally:
        page.evaluate("(span) => span.remove()", handle)
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert image is not None
    return np.asarray(image)


def differ(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape != b.shape or bool((a != b).any())


def assert_cjk_renders(page: Page) -> None:
    """Fail unless Han characters are drawn with real glyphs (install a CJK font: ops/setup.sh does)."""
    da, ka, tofu = glyph(page, "打"), glyph(page, "卡"), glyph(page, "\ue000")
    assert differ(da, ka), "打 and 卡 render identically: no CJK font (empty boxes); run ops/setup.sh"
    assert differ(da, tofu), "打 renders like a character no font has: no CJK font; run ops/setup.sh"
    assert float((da < 128).mean()) > 0.02, "打 leaves (almost) no ink on the page"
