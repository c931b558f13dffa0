import pandas as pd

from runback.flows.spreadsheet import neutralise


def test_formula_like_text_cannot_run_in_a_spreadsheet():
    frame = pd.DataFrame(
        {
            "text": ['=HYPERLINK("http://x")', "+1", "-3", "@SUM(A1)", "plain", None],
            "number": [-3.0, 1.0, 2.0, -1.0, 0.0, 5.0],
        }
    )
    out = neutralise(frame)
    assert out["text"].tolist()[:5] == ['\'=HYPERLINK("http://x")', "'+1", "'-3", "'@SUM(A1)", "plain"]
    assert out["number"].tolist() == frame["number"].tolist()
