import pytest

from deepseek_service.repetition import RepetitionGuard, find_tail_loop, trim_text_loop


def test_a_repeated_line_is_caught_and_the_first_copy_kept() -> None:
    line = list(range(100, 107))  # a 7-token line
    guard = RepetitionGuard(min_repeats=4, min_span=40)
    prefix = [1, 2, 3, 4, 5]
    stopped_at = None
    for index, token in enumerate(prefix + line * 20):
        if guard.push(token):
            stopped_at = index + 1
            break
    assert stopped_at is not None and stopped_at < len(prefix) + 7 * 8
    assert guard.kept() == prefix + line


def test_varied_text_is_never_stopped() -> None:
    guard = RepetitionGuard()
    tokens = [(i * 7919) % 1000 for i in range(3000)]
    assert not any(guard.push(t) for t in tokens)
    assert guard.kept() == tokens


def test_a_short_legit_repeat_is_not_a_loop() -> None:
    # "- - -" style runs shorter than min_span stay.
    assert find_tail_loop([5, 6] + [9] * 30, min_repeats=4, min_span=40) is None
    assert find_tail_loop([5, 6] + [9] * 40, min_repeats=4, min_span=40) is not None


def test_text_loop_trimmed_to_the_first_copy() -> None:
    text, looped = trim_text_loop("SUMMER SALE\n" + "50% OFF everything\n" * 30)
    # The run is found from its earliest periodic start (here the newline before it), so one
    # copy of the rotated line is kept.
    assert looped and text == "SUMMER SALE\n50% OFF everything"
    assert trim_text_loop("no loop here") == ("no loop here", False)


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError):
        RepetitionGuard(min_repeats=1)
