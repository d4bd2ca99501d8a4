// A plan change whose payment the card asks to confirm (3-D Secure): the provider's script
// (Stripe.js, or the local provider's stand-in) has the customer confirm it with their bank,
// then the page's confirmation is sent again with the payment they confirmed.
(function () {
  "use strict";
  const panel = document.querySelector("[data-authenticate]");
  const form = document.querySelector("[data-confirm-form]");
  if (!panel || !form || typeof window.Stripe !== "function") {
    return;
  }
  const error = panel.querySelector("[data-authenticate-error]");
  const stripe = window.Stripe(panel.dataset.publishableKey);
  stripe.confirmCardPayment(panel.dataset.clientSecret).then(function (result) {
    const intent = result.paymentIntent;
    const held = intent && (intent.status === "requires_capture" || intent.status === "succeeded");
    if (result.error || !held) {
      error.textContent = (result.error && result.error.message) || panel.dataset.notConfirmed;
      error.hidden = false;
      return;
    }
    form.elements.authenticated_payment.value = intent.id;
    form.requestSubmit(form.querySelector("[data-testid=confirm]"));
  });
})();
