"""Work off the GUI thread: the job runner on QThreadPool and the newest-wins slice scheduler.

May import analysis and Qt; never the window, the feature controllers or widgets.
"""

from app.workers.jobs import Cancelled, Job, run_job

__all__ = ["Cancelled", "Job", "run_job"]
