"""Progress of long work (`flows/progress.py`): shown on a terminal while a command shows it,
nothing anywhere else, and log lines above the display."""

import io
import logging
import sys

from runback.flows import progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_stages_show_their_counts_on_a_terminal_and_log_lines_go_above(monkeypatch):
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    handler = logging.StreamHandler(terminal)
    log = logging.getLogger("runback.test-progress")
    log.addHandler(handler)
    try:
        with progress.shown(handler):
            with progress.stage("export files", total=2) as advance:
                advance()
                log.warning("a line logged meanwhile")
                advance()
            with progress.counted("analysis of data cut 3: models") as told:
                for k in (1, 2, 3):
                    told(k, 3)
    finally:
        log.removeHandler(handler)
    shown = terminal.getvalue()
    assert "export files" in shown and "2/2" in shown
    assert "analysis of data cut 3: models" in shown and "3/3" in shown
    assert "a line logged meanwhile" in shown
    assert handler.stream is terminal  # given back when the display ends


def test_without_a_display_stages_cost_nothing_and_print_nothing(capsys):
    with progress.stage("export files", total=2) as advance:
        advance()
    with progress.counted("models") as told:
        assert told is None  # the work need not even count
    assert capsys.readouterr() == ("", "")
