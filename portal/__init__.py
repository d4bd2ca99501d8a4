"""The base every app stands on: settings, database and tenancy, the clock, the job queue
and emails, the tenant registry (organisations, domains, sign-ups), the shared pages."""
