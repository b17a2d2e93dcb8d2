// A sentence true only for a while ("You can ask for a new code in 25 seconds") is taken away
// once it no longer is, so that the page never says what has stopped being true. Without
// JavaScript it stays; a button pressed too early then says how long is left. The end is a
// moment on the clock, looked at again when the page is shown from the browser's history or a
// tab comes back, whose timers may have been held back meanwhile.
(function () {
  var loaded = Date.now();
  var sentences = [];
  document.querySelectorAll("[data-true-for]").forEach(function (sentence) {
    var seconds = parseInt(sentence.getAttribute("data-true-for"), 10);
    if (seconds >= 0) {
      sentences.push({ sentence: sentence, ends: loaded + seconds * 1000 });
      window.setTimeout(check, seconds * 1000);
    }
  });

  function check() {
    sentences.forEach(function (item) {
      if (Date.now() >= item.ends) {
        item.sentence.hidden = true;
      }
    });
  }

  window.addEventListener("pageshow", check);
  document.addEventListener("visibilitychange", check);
})();
