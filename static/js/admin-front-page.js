// The front-page screen (templates/admin/articles/frontpageslot/front_page.html).
// Select2 draws each story box as a textbox whose name comes only from the
// chosen story, so an empty box has none: name it after its place and label.
// Queued with jQuery's ready, behind the admin's own Select2 set-up.
django.jQuery(() => {
  for (const select of document.querySelectorAll("#front-page-form select.admin-autocomplete")) {
    const box = document.getElementById(`select2-${select.id}-container`);
    const label = document.querySelector(`label[for="${select.id}"]`);
    const place = select.closest("fieldset")?.querySelector("h2");
    if (box && label && place) {
      box.setAttribute("aria-label", `${place.textContent} ${label.textContent}`);
    }
  }
});
