"""The flake8 plugin (entry point ``RQJ``): options, configuration, and the tree checker.

flake8 builds the ``ast`` once per file and hands it to :class:`Plugin`; the plugin first runs
a substring prefilter over the file's lines (flake8 runs every installed plugin on every file,
whatever ``--select`` says), then the one-pass visitor of :mod:`flake8_rqjobs.checker`.
"""

from __future__ import annotations

import ast
import logging
import sys
from typing import Any, ClassVar, Iterator, List, Optional, Sequence, Tuple, Type

from flake8_rqjobs import __version__
from flake8_rqjobs.checker import check_tree, needs_check
from flake8_rqjobs.config import OPTIONS, Config, ConfigError, apply_settings, load_config

LOG = logging.getLogger(__name__)

# pyproject key -> help text for the matching --rqjobs-<key> flake8 option
_HELP = {
    "wrapper-modules": "path globs (relative to the project root) of the sanctioned wrapper "
    "modules; default: */services/jobs.py (the rqjobs package is always sanctioned)",
    "event-jobs": "name patterns of event jobs that need a dedupe key (RQJ300/RQJ301)",
    "deprecated": "name patterns of deprecated in-process scheduler starters (RQJ100)",
    "scheduler-paths": "path globs of scheduler code (RQJ200/RQJ201); default: *sched*",
    "max-tick": "longest allowed sleep in a scheduler loop, in seconds (RQJ201); default: 15",
    "queue-factories": "functions that return RQ queues (RQJ003); "
    "default: get_queue,django_rq.get_queue",
    "wrapper-module": "module whose enqueue/enqueue_with_dedupe are the wrapper's "
    "(also used by the codemods); default: rqjobs",
    "event-words": "words that make an HTTP handler a receiver of deliveries (RQJ300) in its "
    "route path, router prefix, module or function name; default: webhook,hook,callback,"
    "notification,event,sns,listener,receiver,inbound,incoming",
    "consumer-callbacks": "name patterns of message-consumer callbacks (RQJ300); default: "
    "on_message,on_*_message,handle_message,handle_*_message,process_message,"
    "consume_message,*_message_handler",
    "client-constructors": "third-party functions that build a Redis client (RQJ001); "
    "default: redis_sentinel_url.connect,redis_om.get_redis_connection,django_rq.get_connection",
}


class Plugin:
    """flake8 tree plugin for the RQJ rules."""

    name = "flake8-rqjobs"
    version = __version__

    config: ClassVar[Config] = Config()

    def __init__(
        self, tree: ast.AST, filename: str = "stdin", lines: Optional[Sequence[str]] = None
    ) -> None:
        self.tree = tree
        self.filename = filename
        self.lines = lines

    @classmethod
    def add_options(cls, parser: Any) -> None:
        for key, (_, kind) in OPTIONS.items():
            parser.add_option(
                f"--rqjobs-{key}",
                default=None,
                parse_from_config=True,
                comma_separated_list=kind == "list",
                help=_HELP[key],
            )

    @classmethod
    def parse_options(cls, options: Any) -> None:
        overrides = {
            key: getattr(options, f"rqjobs_{key.replace('-', '_')}", None) for key in OPTIONS
        }
        try:
            config = load_config()
            config = apply_settings(config, overrides, "flake8 options", prefix="--rqjobs-")
        except ConfigError as exc:
            # One clear line, no traceback (argparse's convention: exit status 2).
            print(f"flake8-rqjobs: {str(exc).replace('rqjobs: ', '', 1)}", file=sys.stderr)
            raise SystemExit(2) from None
        cls.config = config

    def run(self) -> Iterator[Tuple[int, int, str, Type[Any]]]:
        try:
            violations = self._violations()
        except Exception:  # never break a flake8 run; log for --verbose
            LOG.exception("flake8-rqjobs failed on %s", self.filename)
            return
        for violation in violations:
            yield violation.line, violation.col, violation.message, type(self)

    def _violations(self) -> List[Any]:
        if not isinstance(self.tree, ast.Module):
            return []
        config = self.config
        if self.lines is not None:
            if not needs_check("".join(self.lines), self.filename, config):
                return []
        elif config.is_sanctioned(self.filename):
            return []
        return check_tree(self.tree, self.filename, config, self.lines)
