"""Progress for long commands: counts, rate and time left, on stderr, through tqdm."""

from tqdm import tqdm


class StageProgress:
    """A ``progress(stage, done, total)`` callable that shows one tqdm bar per stage."""

    def __init__(self, *, enabled: bool = True):
        self.enabled = enabled
        self._bar: tqdm | None = None
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if stage != self._stage:
            self.close()
            self._stage = stage
            self._bar = tqdm(total=total, desc=stage, unit="", mininterval=0.5, leave=True)
        assert self._bar is not None
        self._bar.total = total
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
