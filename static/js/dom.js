/**
 * Tiny DOM helpers. User text only ever becomes a Text node or textContent:
 * nothing here parses HTML.
 */

/**
 * Create an element. `attrs` keys: class, text, hidden, dataset, style (object),
 * on (object of listeners); anything else becomes an attribute. Children are
 * nodes or strings (strings become Text nodes).
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'hidden') el.hidden = Boolean(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'style') Object.assign(el.style, value);
    else if (key === 'on') for (const [type, fn] of Object.entries(value)) el.addEventListener(type, fn);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

/** Replace an element's content with plain text. */
export function setText(el, text) {
  if (el && el.textContent !== text) el.textContent = text;
}

/** The page's JSON config, written by Django's json_script. */
export function readConfig(id = 'page-config') {
  const node = document.getElementById(id);
  return node ? JSON.parse(node.textContent) : {};
}

export function $(root, selector) {
  return root.querySelector(selector);
}
