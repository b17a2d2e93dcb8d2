// The new-password page, made easier with JavaScript: a button to show what was typed, and a
// verdict computed by the server as the person types: refused with the reasons, or how strong.
// Without JavaScript the form works the same; the rules are listed above it and the server
// explains any refusal.
(function () {
  "use strict";
  var form = document.querySelector("form[data-show-label]");
  if (!form) { return; }

  // The field's own name, as its label says it (without the label's closing colon).
  function fieldName(input) {
    var label = form.querySelector('label[for="' + input.id + '"]');
    return label ? label.textContent.replace(/[\s:：]+$/, "") : "";
  }

  // Each button says which field it shows, to a screen reader: "Show password (New password)".
  function say(button, words, name) {
    button.textContent = words;
    if (!name) { return; }
    var which = document.createElement("span");
    which.className = "visually-hidden";
    which.textContent = "(" + name + ")";
    button.appendChild(document.createTextNode(" "));
    button.appendChild(which);
  }

  form.querySelectorAll("input[data-reveal]").forEach(function (input) {
    var name = fieldName(input);
    var button = document.createElement("button");
    button.type = "button";
    button.className = "link-button reveal";
    button.setAttribute("aria-pressed", "false");
    button.setAttribute("aria-controls", input.id);
    say(button, form.dataset.showLabel, name);
    button.addEventListener("click", function () {
      var shown = input.type === "text";
      input.type = shown ? "password" : "text";
      button.setAttribute("aria-pressed", shown ? "false" : "true");
      say(button, shown ? form.dataset.showLabel : form.dataset.hideLabel, name);
    });
    input.insertAdjacentElement("afterend", button);
  });

  var first = form.querySelector("input[name=new_password1]");
  var output = document.getElementById("password-strength");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]");
  if (!first || !output || !token || !form.dataset.strengthUrl) { return; }
  // The verdict sits under the field it judges, and describes it.
  var field = first.closest(".field");
  if (field) { field.appendChild(output); }
  var described = (first.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
  if (described.indexOf(output.id) < 0) {
    described.push(output.id);
    first.setAttribute("aria-describedby", described.join(" "));
  }
  var timer = null;
  var asked = 0;  // only the answer about what is typed now is shown, not an older one
  first.addEventListener("input", function () {
    window.clearTimeout(timer);
    asked += 1;
    if (!first.value) { output.textContent = ""; delete output.dataset.score; return; }
    timer = window.setTimeout(function () {
      var question = asked;
      var body = new URLSearchParams();
      body.append("password", first.value);
      body.append("csrfmiddlewaretoken", token.value);
      fetch(form.dataset.strengthUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": token.value },
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (result) {
          if (!result || question !== asked) { return; }
          // The server applies every rule the form will (docs/security.md, "The web
          // layer"): a password it would refuse is shown as refused with the reasons, never
          // as strong.
          if (result.accepted === false) {
            output.textContent = result.label;
            output.dataset.score = "refused";
          } else {
            output.textContent = form.dataset.strengthLabel + " " + result.label;
            output.dataset.score = result.score;
          }
        })
        .catch(function () { output.textContent = ""; });
    }, 350);
  });
})();
