// After a form comes back with errors, the summary of them takes the focus, so that a screen
// reader reads it first and the keyboard goes on from there to the fields (each error links to
// its field). Without JavaScript the summary is still announced (role="alert").
//
// A link of the summary moves the focus to its field and shows the field's label (or its
// group's legend) without adding the field to the page's address: an address ending in
// "#id_…" would be sent on with the form, and the page that answers would jump to that field
// instead of its own summary.
(function () {
  var summary = document.getElementById("error-summary");
  if (!summary) {
    return;
  }
  if (window.location.hash && window.history.replaceState) {
    window.history.replaceState(
      window.history.state,
      "",
      window.location.pathname + window.location.search
    );
  }
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    var field = link && document.getElementById(link.getAttribute("href").slice(1));
    if (!field) {
      return;
    }
    event.preventDefault();
    var group = field.closest("fieldset");
    var caption = group
      ? group.querySelector("legend")
      : document.querySelector("label[for='" + field.id + "']");
    (caption || field).scrollIntoView();
    field.focus({ preventScroll: true });
  });
})();
