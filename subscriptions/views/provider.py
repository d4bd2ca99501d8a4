"""What a page that runs the payment provider's script needs: the script's address (Stripe.js,
or the local provider's stand-in) and the page's Content-Security-Policy widened to the
provider's origins only (the card form, a payment confirmed with 3-D Secure)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def script_url() -> str:
    """Stripe.js, or the local provider's stand-in for it."""
    if settings.STRIPE_API_BASE:
        return f"{settings.STRIPE_API_BASE.rstrip('/')}/js.stripe.com/v3/"
    return "https://js.stripe.com/v3/"


def page_csp() -> str:
    """The Content-Security-Policy of a page with the provider's card form: ours
    (``PORTAL_CSP``), with the provider's origins for its script, its requests and its
    frames, and nothing else."""
    if settings.STRIPE_API_BASE:
        parts = urlsplit(settings.STRIPE_API_BASE)
        origins = {d: f"{parts.scheme}://{parts.netloc}" for d in ("script", "connect", "frame")}
    else:
        origins = {
            "script": "https://js.stripe.com",
            "connect": "https://api.stripe.com",
            "frame": "https://js.stripe.com https://hooks.stripe.com",
        }
    directives = [d.strip() for d in settings.PORTAL_CSP.split(";")]
    for kind, origin in origins.items():
        name = f"{kind}-src"
        found = [i for i, d in enumerate(directives) if d.split()[0] == name]
        if found:
            directives[found[0]] += f" {origin}"
        else:
            directives.append(f"{name} {origin}")
    return "; ".join(directives)
