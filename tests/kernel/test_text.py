from kernel.text import display_name, shorten
from tests import factories


def test_shorten_cuts_at_a_word_and_says_so_with_an_ellipsis():
    text = "Deploy of the config change skipped the canary stage because the flag was off"
    assert shorten(text, 60) == "Deploy of the config change skipped the canary stage…"
    assert len(shorten(text, 60)) <= 60


def test_shorten_leaves_short_text_alone_and_puts_it_on_one_line():
    assert shorten("Pool ran\n dry", 60) == "Pool ran dry"


def test_shorten_cuts_inside_a_word_only_when_one_word_is_longer_than_the_width():
    assert shorten("a" * 80, 10) == "a" * 9 + "…"


def test_a_word_ending_exactly_at_the_width_is_kept_whole():
    assert shorten("word1 word2 word3", 12) == "word1 word2…"


def test_display_name_prefers_the_full_name(db):
    assert display_name(factories.user("ana", first_name="Ana", last_name="Lima")) == "Ana Lima"
    assert display_name(factories.user("bo")) == "bo"
    assert display_name(None) == ""
