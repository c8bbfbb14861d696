"""A new text that shares no LSH band with another new text is passed over (it has no candidate among them
and is no later text's candidate); one that shares a band is compared as before."""

from __future__ import annotations

import numpy as np

from sftgen.dedup.near import Bands
from sftgen.recipe.dedup_settings import Dedup


def test_rows_sharing_all_values_of_one_band_are_flagged_and_the_others_not():
    settings = Dedup(methods=["near"], near_threshold=0.7, num_perm=128)
    bands = Bands(settings)
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2**32, size=(50, settings.num_perm), dtype=np.uint64)
    start, end = bands.ranges[3]
    values[40, start:end] = values[7, start:end]  # one band alike: an LSH candidate pair
    values[45] = values[12]  # alike throughout
    shared = bands.shared_among(values)
    assert np.flatnonzero(shared).tolist() == [7, 12, 40, 45]
    assert bands.new_matches(values[40]) == set()
    bands.add_new(7, values[7])
    assert bands.new_matches(values[40]) == {7}
