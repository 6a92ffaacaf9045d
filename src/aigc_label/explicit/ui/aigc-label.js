/*
 * <aigc-label>: a dependency-free custom element showing the GB 45438 explicit prompt
 * (section 2, Interactive interface) near content or at the top/bottom of a chat UI.
 *
 *   <script src="aigc-label.js" defer></script>
 *   <aigc-label position="top" persistent></aigc-label>
 *   <aigc-label text="豆包AI生成" position="inline" persistent></aigc-label>
 *
 * Attributes: text (must hold an AI element, 人工智能 or AI, and a generation element,
 * 生成 or 合成, else the default is shown), lang (zh | en; default: the page's),
 * position (top | bottom | inline | overlay; default top), persistent (no dismiss
 * button, and the element cannot be hidden). The stylesheet below is the same as
 * aigc-label.css and is added once per document unless that file is already there.
 */
(() => {
  "use strict";

  const DEFAULTS = { zh: "本内容由人工智能生成", en: "This content is AI-generated" };
  const POSITIONS = ["top", "bottom", "inline", "overlay"];
  const AI = /人工智能|(^|[^A-Za-z])AI(?![a-z])|[Aa]rtificial [Ii]ntelligence/;
  const GEN = /生成|合成|\b(generated|generation|synthesi[sz]ed|synthetic)\b/i;
  const STYLE_ID = "aigc-label-style";
  const CSS = `
/* aigc-label: the GB 45438 explicit prompt for interfaces (section 2, Interactive interface).
   Styles the <aigc-label> element, whether upgraded by aigc-label.js or rendered on the
   server by aigc_label.explicit.ui.render_ui_prompt. Colours are custom properties. */
aigc-label {
  --aigc-label-bg: #eef3fd;
  --aigc-label-fg: #0b2a5b;
  --aigc-label-accent: #1a73e8;
  display: block;
  box-sizing: border-box;
  margin: 0.5em 0;
  padding: 0.4em 0.8em;
  border-left: 4px solid var(--aigc-label-accent);
  background: var(--aigc-label-bg);
  color: var(--aigc-label-fg);
  font: 600 0.95em/1.4 system-ui, "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
}
aigc-label[position="top"],
aigc-label[position="bottom"] {
  position: sticky;
  z-index: 1000;
  margin: 0;
  border-left: 0;
  text-align: center;
}
aigc-label[position="top"] {
  top: 0;
  border-bottom: 2px solid var(--aigc-label-accent);
}
aigc-label[position="bottom"] {
  bottom: 0;
  border-top: 2px solid var(--aigc-label-accent);
}
aigc-label[position="inline"] {
  display: inline-block;
  margin: 0 0.4em;
  padding: 0.1em 0.5em;
  border: 1px solid var(--aigc-label-accent);
  border-radius: 0.3em;
  font-size: 0.8em;
}
aigc-label[position="overlay"] {
  position: absolute;
  right: 0.5em;
  bottom: 0.5em;
  margin: 0;
  border: 0;
  border-radius: 0.3em;
  background: rgba(0, 0, 0, 0.68);
  color: #fff;
}
aigc-label[hidden] {
  display: none;
}
aigc-label[persistent][hidden] {
  display: block !important;
}
aigc-label[persistent][position="inline"][hidden] {
  display: inline-block !important;
}
aigc-label .aigc-label__dismiss {
  margin-left: 0.6em;
  border: 0;
  background: transparent;
  color: inherit;
  font: inherit;
  cursor: pointer;
}
`;

  function isLabelText(text) {
    const norm = text.normalize("NFKC");
    return AI.test(norm) && GEN.test(norm);
  }

  function ensureStyle(doc) {
    if (doc.getElementById(STYLE_ID)) return;
    for (const link of doc.querySelectorAll("link[rel~=stylesheet]")) {
      if (/aigc-label(\.min)?\.css(\?|#|$)/.test(link.getAttribute("href") || "")) return;
    }
    const style = doc.createElement("style");
    style.id = STYLE_ID;
    style.textContent = CSS;
    (doc.head || doc.documentElement).appendChild(style);
  }

  class AigcLabel extends HTMLElement {
    static get observedAttributes() {
      return ["text", "lang", "position", "persistent", "hidden"];
    }

    connectedCallback() {
      ensureStyle(this.ownerDocument);
      this.render();
    }

    attributeChangedCallback() {
      if (this.isConnected && !this._rendering) this.render();
    }

    get labelText() {
      const text = (this.getAttribute("text") || "").trim();
      if (text && isLabelText(text)) return text;
      if (text) console.warn(`<aigc-label>: "${text}" lacks an AI or a generation element`);
      const lang = this.getAttribute("lang") || this.ownerDocument.documentElement.lang || "zh";
      return DEFAULTS[lang.toLowerCase().startsWith("en") ? "en" : "zh"];
    }

    render() {
      this._rendering = true;
      try {
        const position = this.getAttribute("position");
        if (!POSITIONS.includes(position)) this.setAttribute("position", "top");
        const persistent = this.hasAttribute("persistent");
        if (persistent && this.hasAttribute("hidden")) this.removeAttribute("hidden");
        const text = this.labelText;
        this.setAttribute("role", "note");
        this.setAttribute("aria-label", text);
        const span = this.ownerDocument.createElement("span");
        span.className = "aigc-label__text";
        span.textContent = text;
        const parts = [span];
        if (!persistent) {
          const close = this.ownerDocument.createElement("button");
          close.type = "button";
          close.className = "aigc-label__dismiss";
          close.setAttribute("aria-label", "dismiss");
          close.textContent = "×";
          close.addEventListener("click", () => this.setAttribute("hidden", ""));
          parts.push(close);
        }
        this.replaceChildren(...parts);
      } finally {
        this._rendering = false;
      }
    }
  }

  if (!customElements.get("aigc-label")) customElements.define("aigc-label", AigcLabel);
})();
