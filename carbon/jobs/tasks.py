"""django-q2 entry points: thin wrappers around the runner and the services."""

from carbon.jobs.runner import run_job, worker_name
from carbon.jobs.services import jobs_sweep, worker_heartbeat


def run_job_task(job_id: int):
    worker_heartbeat(worker_name())
    return run_job(job_id)


def sweep_task():
    return jobs_sweep()
