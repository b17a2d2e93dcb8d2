// A sentence true only for a while ("You can ask for a new code in 25 seconds") is taken away
// once it no longer is, or replaced by what is true then (data-then), so that the page never
// says what has stopped being true. A sentence
// that carries its own words for each second left (data-counting: a list, the first for one
// second) counts down once a second meanwhile; its paragraph is not a live region, so a screen
// reader reads the number left when it comes to it and is not interrupted every second.
// Without JavaScript it stays as it was written; a button pressed too early then says how long
// is left. The end is a moment on the clock, looked at again when the page is shown from the
// browser's history or a tab comes back, whose timers may have been held back meanwhile.
(function () {
  var loaded = Date.now();
  var sentences = [];
  document.querySelectorAll("[data-true-for]").forEach(function (sentence) {
    var seconds = parseInt(sentence.getAttribute("data-true-for"), 10);
    if (seconds >= 0) {
      sentences.push({
        sentence: sentence,
        ends: loaded + seconds * 1000,
        counting: wordsFor(sentence),
      });
    }
  });
  var timer = sentences.length ? window.setInterval(check, 1000) : null;
  if (timer !== null) {
    check();
  }

  function wordsFor(sentence) {
    try {
      var words = JSON.parse(sentence.getAttribute("data-counting") || "[]");
      return Array.isArray(words) ? words : [];
    } catch (error) {
      return [];
    }
  }

  function check() {
    var now = Date.now();
    var counting = false;
    sentences.forEach(function (item) {
      var left = Math.ceil((item.ends - now) / 1000);
      if (left <= 0) {
        // A sentence that says what is true after (data-then) takes its place, so that
        // nothing below it moves; any other is taken away.
        var then = item.sentence.getAttribute("data-then");
        if (then) {
          item.sentence.textContent = then;
        } else {
          item.sentence.hidden = true;
        }
        return;
      }
      counting = true;
      var words = item.counting[left - 1];
      if (words && item.sentence.textContent !== words) {
        item.sentence.textContent = words;
      }
    });
    if (!counting && timer !== null) {
      window.clearInterval(timer);
      timer = null;
    }
  }

  window.addEventListener("pageshow", check);
  document.addEventListener("visibilitychange", check);
})();
