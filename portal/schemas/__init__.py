"""Organisations' schemas: creating one from the schema template (``provisioning``), the
migration state each one records (``state``) and deploy migrations across all of them
(``deploy``). Modules re-export nothing."""
