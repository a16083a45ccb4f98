"""Progress for long commands: counts, rate and time left, on stderr, through tqdm."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.management.base import CommandError
from tqdm import tqdm


class StageProgress:
    """A ``progress(stage, done, total, **counts)`` callable that shows one tqdm bar per stage,
    with ``counts`` (e.g. the rows written so far) after the bar."""

    def __init__(self, *, enabled: bool = True):
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int, **counts) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, unit="", mininterval=0.5, leave=True)
        assert self._bar is not None
        self._bar.total = total
        self._bar.update(done - self._bar.n)
        if counts:
            self._bar.set_postfix({k: f"{v:,}" for k, v in counts.items()})

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def seed_skipped(command, opts: dict, present: Callable[[], bool], message: str) -> bool:
    """``--if-empty``: True when ``present()`` says the data is already there, after saying
    ``message`` (unless the command runs quiet); ``present`` is not asked without the flag."""
    if not (opts["if_empty"] and present()):
        return False
    if opts["verbosity"] > 0:
        command.stdout.write(message)
    return True


@contextmanager
def command_progress(opts: dict, *, interrupted: str | None = None) -> Iterator[StageProgress]:
    """A StageProgress for a command (silent at verbosity 0), closed however the work ends. With
    ``interrupted``, Ctrl-C becomes a CommandError saying what was kept."""
    progress = StageProgress(enabled=opts["verbosity"] > 0)
    try:
        yield progress
    except KeyboardInterrupt:
        if interrupted is None:
            raise
        raise CommandError(interrupted) from None
    finally:
        progress.close()
