// The sign-up page: says whether the address can be had as it is typed. Without
// JavaScript, the "Check availability" button asks the same question.
(function () {
  "use strict";
  var input = document.querySelector("input[data-check-url]");
  var status = document.getElementById("address_status");
  if (!input || !status) {
    return;
  }
  var timer = null;
  var asked = 0;
  // The page answers as the address is typed: the button for pages without JavaScript goes.
  var button = document.querySelector("[data-testid=check-address]");
  if (button) {
    button.hidden = true;
  }

  function show(answer) {
    status.textContent = answer.message;
    status.classList.toggle("availability--ok", answer.available);
    status.classList.toggle("availability--taken", !answer.available);
  }

  function check() {
    // As the server reads it: half-width (ｓａｋｕｒａ typed in Japanese is sakura).
    var address = input.value.normalize("NFKC").trim().toLowerCase();
    var ticket = ++asked;
    if (!address) {
      status.textContent = "";
      status.classList.remove("availability--ok", "availability--taken");
      return;
    }
    fetch(input.dataset.checkUrl + "?address=" + encodeURIComponent(address), {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer && ticket === asked) {  // only the latest question's answer
          show(answer);
        }
      })
      .catch(function () {
        // Offline or refused: the button still checks.
      });
  }

  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(check, 300);
  });
})();
