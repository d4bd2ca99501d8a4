// The Store's card form: the provider's card element (Stripe.js, or the local provider's
// stand-in), confirmed in the browser (3-D Secure there if the card asks); the form then
// sends only the payment method it made.
(function () {
  "use strict";
  const form = document.querySelector("[data-card-form]");
  if (!form || typeof window.Stripe !== "function") {
    return;
  }
  const stripe = window.Stripe(form.dataset.publishableKey);
  const card = stripe.elements().create("card");
  card.mount(form.querySelector("[data-card-element]"));
  const error = form.querySelector("[data-card-error]");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async function (event) {
    if (form.elements.payment_method.value) {
      return; // the card was confirmed: send it
    }
    event.preventDefault();
    button.disabled = true;
    error.hidden = true;
    const result = await stripe.confirmCardSetup(form.dataset.clientSecret, {
      payment_method: { card: card },
    });
    if (result.error) {
      error.textContent = result.error.message || String(result.error);
      error.hidden = false;
      button.disabled = false;
      return;
    }
    form.elements.payment_method.value = result.setupIntent.payment_method;
    form.submit();
  });
})();
