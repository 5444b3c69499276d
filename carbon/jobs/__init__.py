"""Background pipelines: the job row in PostgreSQL is the truth; django-q2 carries only its id."""
