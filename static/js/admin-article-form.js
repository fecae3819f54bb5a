// The article change form. Django's admin leaves some of it without names:
// - Select2 draws each autocomplete (topics, people, lead image, bylines'
//   authors, related links' targets) as a combobox or a search box with no
//   name; give each the name of its field: its <label>, or for a tabular
//   inline's cell the aria-label the server put on the <select>
//   (articles/admin_names.py);
// - a tabular inline's first column header is empty: call it "Row".
// Without JavaScript there is no Select2 and the <select>s keep their names.

function fieldName(select) {
  const label = document.querySelector(`label[for="${select.id}"]`);
  const text = label ? label.textContent : select.getAttribute("aria-label") || "";
  return text.trim().replace(/:$/, "");
}

function nameSelect2(select) {
  const name = fieldName(select);
  const box = select.nextElementSibling;
  if (!name || !box || !box.classList.contains("select2")) {
    return;
  }
  for (const part of box.querySelectorAll(
    ".select2-selection, .select2-selection__rendered, .select2-search__field",
  )) {
    part.setAttribute("aria-label", name);
  }
}

function nameAll() {
  for (const select of document.querySelectorAll("select.admin-autocomplete")) {
    nameSelect2(select);
  }
  for (const header of document.querySelectorAll("table thead th.original")) {
    if (!header.textContent.trim()) {
      const text = document.createElement("span");
      text.className = "visually-hidden";
      text.textContent = "Row";
      header.append(text);
    }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  const $ = window.django.jQuery;
  // Queued behind the admin's own Select2 set-up (autocomplete.js).
  $(nameAll);
  // A new inline row: autocomplete.js sets up its Select2 first.
  document.addEventListener("formset:added", nameAll);
  // Select2 redraws its boxes as choices change, and its dropdown's search
  // box appears on opening.
  $(document).on("select2:open select2:select select2:unselect change", (event) => {
    const select = event.target;
    if (select.matches?.("select.admin-autocomplete")) {
      nameSelect2(select);
      if (event.type === "select2:open") {
        const name = fieldName(select);
        for (const field of document.querySelectorAll(
          ".select2-container--open .select2-search--dropdown .select2-search__field",
        )) {
          field.setAttribute("aria-label", name);
        }
      }
    }
  });
});
