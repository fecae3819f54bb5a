// The story body's rich-text editor (articles/body_editor.py).
//
// ProseMirror through the Tiptap build that django-prose-editor ships as a
// static file; the schema holds exactly what articles/richtext.py keeps:
// paragraphs, h2, h3, quotes (with a cited source), lists, bold, italic, line
// breaks, links (web, mail or a story by id) and photos by id. The textarea
// stays in the form, hidden, and carries the HTML; without JavaScript it is
// edited as it is. Nothing here sets an inline style (the CSP forbids them).

import {
  Blockquote,
  Bold,
  BulletList,
  Document,
  Editor,
  HardBreak,
  Heading,
  Italic,
  ListItem,
  Mark,
  Node,
  OrderedList,
  Paragraph,
  Text,
  UndoRedo,
} from "../../django_prose_editor/editor.js";

const WEB_ADDRESS = /^(https?:\/\/|mailto:)\S/i;
// Id -> text of the photos already in the body (from the widget).
let photoLabels = {};

const BodyLink = Mark.create({
  name: "link",
  priority: 1000,
  inclusive: false,
  addAttributes() {
    return {
      href: {
        default: null,
        parseHTML: (element) => element.getAttribute("href"),
      },
      story: {
        default: null,
        parseHTML: (element) => element.getAttribute("data-story"),
        renderHTML: (attributes) =>
          attributes.story ? { "data-story": attributes.story } : {},
      },
    };
  },
  parseHTML() {
    return [
      { tag: "a[data-story]" },
      {
        tag: "a[href]",
        getAttrs: (element) =>
          WEB_ADDRESS.test(element.getAttribute("href")) ? null : false,
      },
    ];
  },
  renderHTML({ HTMLAttributes }) {
    return ["a", HTMLAttributes, 0];
  },
});

// A quote's source: <blockquote><p>…</p><p><cite>Name</cite></p></blockquote>.
const Cite = Mark.create({
  name: "cite",
  parseHTML: () => [{ tag: "cite" }],
  renderHTML: () => ["cite", 0],
});

const InlinePhoto = Node.create({
  name: "inlinePhoto",
  group: "block",
  atom: true,
  selectable: true,
  draggable: true,
  addAttributes() {
    return {
      image: {
        default: null,
        parseHTML: (element) => element.getAttribute("data-image"),
        renderHTML: (attributes) => ({ "data-image": attributes.image }),
      },
      label: { default: "", rendered: false },
    };
  },
  parseHTML: () => [{ tag: "figure[data-image]" }],
  renderHTML({ HTMLAttributes }) {
    return ["figure", HTMLAttributes];
  },
  addNodeView() {
    return ({ node }) => {
      const dom = element("figure", { className: "body-editor-photo" });
      dom.dataset.image = node.attrs.image;
      const label =
        node.attrs.label || photoLabels[node.attrs.image] || `number ${node.attrs.image}`;
      dom.append(element("span", { textContent: `Photo: ${label}` }));
      return { dom };
    };
  },
});

function element(tag, properties = {}, children = []) {
  const made = Object.assign(document.createElement(tag), properties);
  made.append(...children);
  return made;
}

const BUTTONS = [
  ["Bold", (e) => e.chain().focus().toggleBold().run(), (e) => e.isActive("bold")],
  ["Italic", (e) => e.chain().focus().toggleItalic().run(), (e) => e.isActive("italic")],
  ["Link", null, (e) => e.isActive("link") && !e.getAttributes("link").story],
  [
    "Heading 2",
    (e) => e.chain().focus().toggleHeading({ level: 2 }).run(),
    (e) => e.isActive("heading", { level: 2 }),
  ],
  [
    "Heading 3",
    (e) => e.chain().focus().toggleHeading({ level: 3 }).run(),
    (e) => e.isActive("heading", { level: 3 }),
  ],
  ["Quote", (e) => e.chain().focus().toggleBlockquote().run(), (e) => e.isActive("blockquote")],
  [
    "Bulleted list",
    (e) => e.chain().focus().toggleBulletList().run(),
    (e) => e.isActive("bulletList"),
  ],
  [
    "Numbered list",
    (e) => e.chain().focus().toggleOrderedList().run(),
    (e) => e.isActive("orderedList"),
  ],
  ["Photo", null, null],
  ["Story link", null, (e) => Boolean(e.getAttributes("link").story)],
];

let dialogCount = 0;

class Chooser {
  // A modal <dialog>: a labelled field and, for searches, a list of results.
  constructor(container) {
    dialogCount += 1;
    this.id = `body-editor-dialog-${dialogCount}`;
    this.heading = element("h2", { id: `${this.id}-title` });
    this.label = element("label", { htmlFor: `${this.id}-field` });
    this.field = element("input", { id: `${this.id}-field`, type: "search" });
    this.results = element("ul", { className: "body-editor-results" });
    this.status = element("p", { className: "body-editor-status", role: "status" });
    this.apply = element("button", { type: "submit", textContent: "Apply" });
    this.remove = element("button", { type: "button", textContent: "Remove link" });
    const cancel = element("button", { type: "button", textContent: "Cancel" });
    cancel.addEventListener("click", () => this.dialog.close());
    this.form = element("form", { method: "dialog" }, [
      this.heading,
      element("p", {}, [this.label, this.field]),
      this.status,
      this.results,
      element("p", { className: "body-editor-actions" }, [this.apply, this.remove, cancel]),
    ]);
    this.dialog = element("dialog", { className: "body-editor-dialog" }, [this.form]);
    this.dialog.setAttribute("aria-labelledby", this.heading.id);
    container.append(this.dialog);
  }

  open({ title, label, type, value, onApply, onRemove, search, onChoose }) {
    this.heading.textContent = title;
    this.label.textContent = label;
    this.field.type = type;
    this.field.value = value || "";
    this.results.replaceChildren();
    this.status.textContent = "";
    this.apply.hidden = !onApply;
    this.remove.hidden = !onRemove;
    this.form.onsubmit = (event) => {
      if (onApply) {
        if (!this.field.checkValidity()) {
          event.preventDefault();
          this.field.reportValidity();
          return;
        }
        onApply(this.field.value.trim());
      } else {
        event.preventDefault();
      }
    };
    this.remove.onclick = () => {
      this.dialog.close();
      onRemove();
    };
    this.field.oninput = search ? () => this.search(search, onChoose) : null;
    this.dialog.showModal();
    this.field.focus();
    if (search) this.search(search, onChoose);
  }

  async search(url, onChoose) {
    const term = this.field.value;
    const response = await fetch(`${url}&term=${encodeURIComponent(term)}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (term !== this.field.value) return; // a newer search is on its way
    if (!response.ok) {
      this.status.textContent = "The search failed; try again.";
      return;
    }
    const { results } = await response.json();
    this.status.textContent = results.length ? `${results.length} found` : "Nothing found";
    this.results.replaceChildren(
      ...results.map((result) => {
        const choose = element("button", { type: "button", textContent: result.text });
        choose.addEventListener("click", () => {
          this.dialog.close();
          onChoose(result);
        });
        return element("li", {}, [choose]);
      }),
    );
  }
}

function createBodyEditor(textarea) {
  photoLabels = JSON.parse(textarea.dataset.photoLabels || "{}");
  const label = document.querySelector(`label[for="${textarea.id}"]`);
  const wrapper = element("div", { className: "body-editor" });
  const toolbar = element("div", { className: "body-editor-toolbar" });
  toolbar.setAttribute("role", "toolbar");
  toolbar.setAttribute("aria-label", "Body formatting");
  const area = element("div", { className: "body-editor-area" });
  textarea.before(wrapper);
  wrapper.append(toolbar, area);
  const chooser = new Chooser(wrapper);

  if (label) {
    label.id = label.id || `${textarea.id}-label`;
    // The label names the editor now; the hidden textarea only carries the value.
    label.removeAttribute("for");
  }
  const editor = new Editor({
    element: area,
    injectCSS: false,
    content: textarea.value,
    extensions: [
      Document,
      Paragraph,
      Text,
      HardBreak,
      Bold,
      Italic,
      Heading.configure({ levels: [2, 3] }),
      Blockquote,
      BulletList,
      OrderedList,
      ListItem,
      UndoRedo,
      BodyLink,
      Cite,
      InlinePhoto,
    ],
    editorProps: {
      attributes: {
        class: "body-editor-content",
        role: "textbox",
        "aria-multiline": "true",
        ...(label ? { "aria-labelledby": label.id } : { "aria-label": "Body" }),
      },
    },
    onUpdate: ({ editor: updated }) => {
      textarea.value = updated.isEmpty ? "" : updated.getHTML();
    },
  });
  textarea.hidden = true;

  const actions = {
    Link: () => {
      const current = editor.getAttributes("link");
      chooser.open({
        title: "Link to a web page",
        label: "Web address (https://…, or mailto:)",
        type: "url",
        value: current.story ? "" : current.href,
        onApply: (href) => {
          if (!WEB_ADDRESS.test(href)) return;
          editor
            .chain()
            .focus()
            .extendMarkRange("link")
            .setMark("link", { href, story: null })
            .run();
        },
        onRemove: editor.isActive("link")
          ? () => editor.chain().focus().extendMarkRange("link").unsetMark("link").run()
          : null,
      });
    },
    "Story link": () => {
      chooser.open({
        title: "Link to a story",
        label: "Search stories by headline",
        type: "search",
        search: textarea.dataset.storySearch,
        onRemove: editor.isActive("link")
          ? () => editor.chain().focus().extendMarkRange("link").unsetMark("link").run()
          : null,
        onChoose: (story) => {
          const mark = { type: "link", attrs: { story: story.id, href: null } };
          if (editor.state.selection.empty && !editor.isActive("link")) {
            editor
              .chain()
              .focus()
              .insertContent({ type: "text", text: story.text, marks: [mark] })
              .run();
          } else {
            editor
              .chain()
              .focus()
              .extendMarkRange("link")
              .setMark("link", mark.attrs)
              .run();
          }
        },
      });
    },
    Photo: () => {
      chooser.open({
        title: "Put a photo in the story",
        label: "Search photos by caption, credit or alt text",
        type: "search",
        search: textarea.dataset.photoSearch,
        onChoose: (photo) => {
          editor
            .chain()
            .focus()
            .insertContent({
              type: "inlinePhoto",
              attrs: { image: photo.id, label: photo.text },
            })
            .run();
        },
      });
    },
  };

  const buttons = BUTTONS.map(([name, command, active]) => {
    const button = element("button", { type: "button", textContent: name });
    button.addEventListener("click", () => (command ? command(editor) : actions[name]()));
    toolbar.append(button);
    return [button, active];
  });
  const showState = () => {
    for (const [button, active] of buttons) {
      // Toggles say whether they are on; Photo only inserts.
      if (active) button.setAttribute("aria-pressed", String(Boolean(active(editor))));
    }
  };
  editor.on("transaction", showState);
  showState();
  return editor;
}

for (const textarea of document.querySelectorAll("textarea[data-body-editor]")) {
  createBodyEditor(textarea);
}
