"""Each organisation's users and departments (and the vendor's staff in the public schema),
their roles, and who may do what."""
