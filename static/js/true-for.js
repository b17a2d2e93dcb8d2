// A sentence true only for a while ("You can ask for a new code in 25 seconds") is taken away
// once it no longer is, so that the page never says what has stopped being true. Without
// JavaScript it stays; a button pressed too early then says how long is left.
(function () {
  document.querySelectorAll("[data-true-for]").forEach(function (sentence) {
    var seconds = parseInt(sentence.getAttribute("data-true-for"), 10);
    if (!(seconds >= 0)) {
      return;
    }
    window.setTimeout(function () {
      sentence.hidden = true;
    }, seconds * 1000);
  });
})();
