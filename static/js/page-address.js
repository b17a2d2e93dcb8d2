// A page that came as the answer to a form (the code page, in the answer to the form that sent
// the code) shows its own address in the address bar, so that a reload or a bookmark opens the
// page instead of sending the form again. Without JavaScript a reload sends the form again,
// which sends nothing while the code is live (methods/code/setup_views.py, and at reset
// passwordreset/flows.py, reset_send_code), and passes no method twice.
(function () {
  var page = document.querySelector("[data-page-address]");
  var address = page && page.getAttribute("data-page-address");
  if (address && window.history && history.replaceState && location.pathname !== address) {
    history.replaceState(null, "", address);
  }
})();
