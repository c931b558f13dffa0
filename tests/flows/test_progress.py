"""Progress on the terminal (`flows/progress.py`): model k of n in place, nothing when not a terminal."""

import io

from runback.flows import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_the_count_is_rewritten_in_place():
    out = Terminal()
    show = progress.counter("analysis of data cut 3", out)
    for k in (1, 2, 3):
        show(k, 3)
    assert out.getvalue() == ("\ranalysis of data cut 3: model 1 of 3\ranalysis of data cut 3: model 2 of 3"
                              "\ranalysis of data cut 3: model 3 of 3\n")  # fmt: skip


def test_not_on_a_terminal_it_is_quiet():
    assert progress.counter("analysis of data cut 3", io.StringIO()) is None
