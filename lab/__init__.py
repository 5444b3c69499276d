"""The lab web app: the pages lab members work in (workspace; module pages, results to come)."""
