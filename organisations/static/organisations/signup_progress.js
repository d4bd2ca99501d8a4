// The sign-up's progress page: asks every two seconds how far the site is, and reloads
// the page once it is ready (the server then signs the person in there) or failed.
// Without JavaScript, the page refreshes itself (a <noscript> refresh).
(function () {
  "use strict";
  var state = document.getElementById("sign_up_state");
  if (!state) {
    return;
  }
  var waiting = ["verified", "provisioning"];

  function ask() {
    fetch(state.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer && waiting.indexOf(answer.state) < 0) {
          window.location.reload();
          return;
        }
        if (answer) {
          state.textContent = answer.label;
        }
        window.setTimeout(ask, 2000);
      })
      .catch(function () {
        window.setTimeout(ask, 2000);
      });
  }

  window.setTimeout(ask, 1000);
})();
