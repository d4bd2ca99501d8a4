"""The subscriptions app's pages on an organisation's site, one module per subject: the
Store (``store``) and the Features page with its gate (``features``)."""
