// After a form comes back with errors, the summary of them takes the focus, so that a screen
// reader reads it first and the keyboard goes on from there to the fields (each error links to
// its field). Without JavaScript the summary is still announced (role="alert").
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();
