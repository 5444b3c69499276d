"""Run one job in this process (what a worker does with a dispatched id); for operators and tests."""

from django.core.management.base import BaseCommand

from carbon.jobs.runner import run_job


class Command(BaseCommand):
    help = "Claim and run one background job by id (normally the qcluster workers do this)."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)

    def handle(self, *args, job_id, **options):
        result = run_job(job_id)
        self.stdout.write(f"job {job_id}: " + (f"claimed, {result}" if result else "not claimed"))
