"""Settings that decide where a run's links point (flows/settings.py)."""

from runback.flows import settings


def test_links_point_to_the_reports_server_and_a_trial_s_under_its_name(monkeypatch, tmp_path):
    monkeypatch.setenv("RUNBACK_REPORTS_URL", " http://reports.example:8765/ ")
    assert settings.reports_url() == "http://reports.example:8765"
    trial = settings.Trial("cai2017", tmp_path / "w.duckdb", tmp_path / "inbox", tmp_path / "out", tmp_path / "k")
    with settings.use_trial(trial):
        assert settings.reports_url() == "http://reports.example:8765/cai2017"
    monkeypatch.setenv("RUNBACK_REPORTS_URL", "")
    with settings.use_trial(trial):
        assert settings.reports_url() is None
