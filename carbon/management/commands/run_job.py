"""Run one job in this process (what a worker does with a dispatched id); for operators and tests."""

from django.core.management.base import BaseCommand

from carbon.jobs.runner import run_job


class Command(BaseCommand):
    help = "Claim and run one background job by id (normally the qcluster workers do this)."

    def add_arguments(self, parser):
        parser.add_argument("job_id", type=int)
        parser.add_argument("--report-memory", action="store_true", help="Print the peak resident memory.")

    def handle(self, *args, job_id, report_memory, **options):
        result = run_job(job_id)
        self.stdout.write(f"job {job_id}: " + (f"claimed, {result}" if result else "not claimed"))
        if report_memory:
            import resource

            peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
            self.stdout.write(f"peak memory: {peak_kb / 1024:.0f} MB")
