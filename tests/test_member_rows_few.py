"""A live edit computes a member's rows one by one (``few_member_rows``): they must be the rows a
fit computes for the whole network (``member_rows``), value for value to the last bit, or an
updated matcher would drift from a fresh fit."""

from __future__ import annotations

import random

import numpy as np
import scipy.sparse as sp

from benchmarks import synthetic
from matching.member_rows import ROW_ARRAYS, few_member_rows, member_rows, member_texts
from matching.projection import build_projection
from matching.features import NetworkFeatures


def _edge_members(doc: dict, rng: random.Random) -> list[dict]:
    """Members the generator rarely makes: nothing at all, weaknesses only, a level or an
    urgency of 0 (an explicit zero), core flags on what is not offered, duplicate needs."""
    caps = [c["id"] for c in doc["capabilities"]]
    pick = lambda k: rng.sample(caps, k)  # noqa: E731
    members = [{"id": "zz-empty", "name": "E"},
               {"id": "zz-weak", "weaknesses": [{"id": c, "severity": rng.randint(1, 5)}
                                               for c in pick(3)]},
               {"id": "zz-zero", "capabilities": [{"id": c, "level": 0} for c in pick(2)],
                "needs": [{"id": c, "urgency": 0} for c in pick(2)],
                "weaknesses": [{"id": c, "severity": 0} for c in pick(1)]},
               {"id": "zz-flags", "capabilities": [{"id": c, "level": 2, "core": True}
                                                   for c in pick(2)]
                + [{"id": c, "level": 5} for c in pick(2)]},
               {"id": "zz-top", "capabilities": [{"id": c, "level": 4} for c in pick(4)],
                "needs": [{"id": c, "urgency": 5} for c in pick(6)],
                "weaknesses": [{"id": c, "severity": 3} for c in pick(6)],
                "description": "Talleres y soldadura; laser cutting, welding"}]
    return members


def test_rows_computed_one_by_one_equal_a_fit_to_the_last_bit() -> None:
    rng = random.Random(3)
    doc = synthetic.generate(600, 5)
    doc["members"] += _edge_members(doc, rng)
    p = build_projection(doc["network"], doc["capabilities"], doc["members"], doc["ties"])
    features = NetworkFeatures(p)
    parts, n = features.taxonomy_, p.n_members
    descriptions = [p.ties.nodes[mid].get("description") or "" for mid in p.member_ids]

    texts = member_texts(parts, p.urgencies, p.severities, descriptions)
    whole = member_rows(parts, p.levels, p.urgencies, p.severities, p.core_flags, descriptions,
                        features.weakness_weight, None, texts)
    chosen = [p.member_index[m["id"]] for m in doc["members"] if m["id"].startswith("zz-")]
    chosen += rng.sample(range(n), 200)
    for start in range(0, len(chosen), 3):
        rows = chosen[start:start + 3]
        few, few_texts = few_member_rows(parts, p.levels, p.urgencies, p.severities,
                                         p.core_flags, rows, [descriptions[i] for i in rows],
                                         features.weakness_weight)
        for name in few_texts:
            assert few_texts[name] == [texts[name][i] for i in rows], name
        for name in ROW_ARRAYS:
            expected = sp.csr_array(whole[name][rows])
            expected.sort_indices()
            got = few[name]
            assert got.data.dtype == expected.dtype, name
            assert np.array_equal(got.indptr, expected.indptr), (name, rows)
            assert np.array_equal(got.indices, expected.indices), (name, rows)
            assert np.array_equal(got.data, expected.data), (name, rows)  # bit for bit

