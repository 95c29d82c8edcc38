"""flake8-rqjobs: flake8 rules (RQJ) and codemods for RQ + Redis background jobs."""

__version__ = "0.1.0"
