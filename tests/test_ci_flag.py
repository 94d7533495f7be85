"""CI=false means "not CI" (issue 13): the browser journeys and Hypothesis follow the value."""

import hypothesis
import pytest

from tests.ci import ci_enabled


@pytest.mark.parametrize("value", ["true", "TRUE", "1", "yes", "on", " true "])
def test_ci_true_words_mean_ci(value):
    assert ci_enabled({"CI": value}) is True


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off", ""])
def test_ci_false_words_and_empty_mean_not_ci(value):
    assert ci_enabled({"CI": value}) is False


def test_ci_unset_means_not_ci():
    assert ci_enabled({}) is False


def test_hypothesis_profile_follows_the_boolean():
    # The "ci" profile derandomizes; the default profile does not. Run with CI=false and
    # CI=true: before the fix CI=false loaded the "ci" profile.
    assert hypothesis.settings.default.derandomize is ci_enabled()
