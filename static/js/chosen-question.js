// A security question chosen from a list is shown in full under the list: on a narrow screen the
// closed list cuts a long question off, and the person should read the whole question they are
// about to answer. Screen readers hear the list's own choice, so the copy is hidden from them.
// Without JavaScript the list works as before.
(function () {
  document.querySelectorAll(".question").forEach(function (box) {
    var select = box.querySelector("select");
    var shown = box.querySelector(".chosen-question");
    if (!select || !shown) {
      return;
    }
    function update() {
      var option = select.options[select.selectedIndex];
      shown.textContent = option && option.value ? option.textContent : "";
      shown.hidden = !shown.textContent;
    }
    select.addEventListener("change", update);
    update();
  });
})();
