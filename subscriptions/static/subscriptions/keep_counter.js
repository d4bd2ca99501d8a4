// Who stays active when seats run short: how many more can still be ticked, counted as
// the boxes are ticked (the primary contact always stays and takes one seat).
(function () {
  "use strict";
  const counter = document.querySelector("[data-keep-counter]");
  if (!counter) {
    return;
  }
  const fieldset = counter.closest("fieldset");
  const seats = Number(counter.dataset.seats);

  function update() {
    const kept = fieldset.querySelectorAll(
      "input[name=keep][type=hidden], input[name=keep]:checked"
    ).length;
    const left = seats - kept;
    if (left > 0) {
      counter.textContent = counter.dataset.left.replace("__N__", String(left));
    } else if (left === 0) {
      counter.textContent = counter.dataset.full;
    } else {
      counter.textContent = counter.dataset.over.replace("__N__", String(-left));
    }
    counter.classList.toggle("error", left < 0);
  }

  fieldset.addEventListener("change", update);
  update();
})();
