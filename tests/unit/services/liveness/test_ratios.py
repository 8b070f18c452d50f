"""Likelihood ratios from the round's labelled population, shrunk towards the defaults."""

from __future__ import annotations

import math
from datetime import date

import pytest

from silentcert.services.liveness.ratios import LikelihoodRatio, load_ratios, ratio_for, shrink
from silentcert.services.liveness.score_stage import score_round
from silentcert.services.liveness.settings import LivenessSettings, SeenRates

AS_OF = date(2021, 10, 31)


def test_shrink_is_the_prior_without_data_and_the_rate_with_much():
    assert shrink(0, 0, 0.3, 20) == 0.3
    assert shrink(500, 1000, 0.3, 20) == pytest.approx(0.496, abs=1e-3)


def test_few_labelled_dead_keep_the_ratio_near_the_default():
    s = LivenessSettings(fallback_rates=SeenRates(alive=0.6, dead=0.05), ratio_prior_weight=20)
    few = ratio_for("telecom", (600, 1000, 1, 2), s)   # 1 of 2 dead seen: raw 0.5
    many = ratio_for("telecom", (600, 1000, 500, 1000), s)
    assert few.p_seen_dead == pytest.approx((1 + 20 * 0.05) / 22)
    assert few.lr > 4 and many.lr < 1.3
    assert few.estimated and not ratio_for("telecom", (0, 0, 0, 0), s).estimated


def test_log_ratios():
    r = LikelihoodRatio("x", 0.8, 0.1)
    assert r.seen_log_ratio == pytest.approx(math.log(8))
    assert r.unseen_log_ratio == pytest.approx(math.log(0.2 / 0.9))


def test_ratios_counted_from_strong_alive_and_after_death_dead(con, province):
    for i in range(10):
        pid = province.person(f"L{i}")
        province.record(pid, "vaccination", "strong", date(2021, 8, 1))
        if i < 8:
            province.weak(pid, "telecom", date(2021, 9, 1), date(2021, 10, 1))  # two records, one person
    for i in range(5):
        pid = province.person(f"X{i}")
        province.record(pid, "civil_deaths", "death", date(2021, 3, 1))
        province.record(pid, "police_deaths", "death", date(2021, 3, 1))  # two registers: labelled
        province.weak(pid, "telecom", date(2021, 2, 1))          # before death: not "seen although dead"
        if i == 0:
            province.weak(pid, "telecom", date(2021, 6, 1))      # after death
    late = province.person("RECENT")                            # died too recently to be labelled
    province.record(late, "civil_deaths", "death", date(2021, 10, 20))
    province.weak(late, "telecom", date(2021, 10, 25))
    province.weak("L0", "bus_rides", date(2021, 9, 5))
    province.load(con)
    s = LivenessSettings(ratio_prior_weight=10)
    score_round(con, AS_OF, s)
    ratios = load_ratios(con)
    tel = ratios["telecom"]
    assert (tel.n_alive, tel.n_dead) == (10, 5)
    assert tel.p_seen_alive == pytest.approx((8 + 10 * 0.6) / 20)
    assert tel.p_seen_dead == pytest.approx((1 + 10 * 0.05) / 15)
    assert ratios["bus_rides"].p_seen_alive == pytest.approx((1 + 6) / 20)
    row = con.execute("SELECT lr, estimated FROM likelihood_ratios WHERE source = 'telecom'").fetchone()
    assert row == (pytest.approx(tel.lr), True)
