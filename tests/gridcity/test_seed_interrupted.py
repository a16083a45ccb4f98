"""Ctrl-C during seed_demo_city leaves the database as it was: one transaction."""

import pytest

from gridcity.models import District, WorkGrid

BAOAN = "440306"


def test_interrupted_seeding_leaves_nothing_behind(db):
    from gridcity.demo.seed import demo_city_seed

    def ctrl_c_while_storing(stage, done, total):
        if stage == "store grids" and done >= 1000:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        demo_city_seed(seed=7, progress=ctrl_c_while_storing)

    assert not District.objects.filter(code=BAOAN).exists()
    assert not WorkGrid.objects.filter(code__startswith=BAOAN).exists()
