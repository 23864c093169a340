"""Batch processing: many videos, one run folder each, on a local process pool or a Ray cluster.

``run_batch`` (runner.py) is the entry point used by `msmesh batch`; ``process_video`` (worker.py) is the
picklable per-video function both engines run; ``batch_report.json`` (report.py) records every outcome.
"""

from msmesh.batch.inputs import BatchItem, assign_run_dirs, expand_inputs
from msmesh.batch.report import REPORT_NAME, BatchReport
from msmesh.batch.runner import BatchListener, BatchOutcome, run_batch
from msmesh.batch.worker import process_video

__all__ = ["REPORT_NAME", "BatchItem", "BatchListener", "BatchOutcome", "BatchReport", "assign_run_dirs",
           "expand_inputs", "process_video", "run_batch"]
