"""What the reports' web server publishes: the files the warehouse recorded in the blinded root, as
recorded, and nothing else (`flows/outputs.py`, `flows/published.py`). A copy, a hard link or a
symlink of an unblinded report under a report's name, a folder named like a report, a link to a
folder, a recorded file edited since: each is answered 404; the index lists only what is served."""

import os
import threading
from pathlib import Path

import httpx
import pytest

from runback.flows import published, settings
from runback.flows.ingest.pipeline import Options
from runback.flows.night import run
from runback.flows.published import Site
from runback.flows.report import make
from runback.flows.simulate import simulate


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """A small simulated trial, ingested, with a blinded and an unblinded closed report."""
    root = tmp_path_factory.mktemp("published")
    exports, db, out, key = root / "exports", root / "w.duckdb", root / "out", root / "keys" / "allocation.key"
    simulate(exports, participants=24, seed=5, nights=2)
    with settings.use_trial(settings.Trial("", db, exports, out, key)):
        run([exports], db, settings.PROJECT_DIR, Options(key=key))
        blinded = make.make(make.Request("week_8", db=str(db)))[0]
        unblinded = make.make(make.Request("week_8", blinded=False, key=str(key), db=str(db)))[0]
    return db, out, blinded, unblinded


@pytest.fixture
def served(trial):
    db, out, *_ = trial
    server = published.server({"": Site(db, out.resolve())}, ("127.0.0.1", 0))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_unblinded_reports_live_apart_private_and_blinded_ones_are_recorded(trial):
    db, out, blinded, unblinded = trial
    assert blinded.parent == out
    assert unblinded.parent == out.with_name("out-unblinded")
    assert unblinded.stat().st_mode & 0o777 == 0o600
    assert unblinded.parent.stat().st_mode & 0o777 == 0o700
    assert not list(out.rglob("*unblinded*"))


def test_the_recorded_blinded_files_are_served_and_the_index_lists_them(trial, served):
    _, out, blinded, _ = trial
    page = httpx.get(f"{served}/{blinded.name}")
    assert page.status_code == 200 and page.content == blinded.read_bytes()
    index = httpx.get(f"{served}/")
    assert index.status_code == 200 and blinded.name in index.text
    listings = sorted(p.relative_to(out).as_posix() for p in (out / "queries").glob("*.csv"))
    assert listings and all(httpx.get(f"{served}/{p}").status_code == 200 for p in listings)
    assert all(p in index.text for p in listings)


@pytest.mark.parametrize("how", ["copy", "hard link", "symlink", "folder", "link to a folder", "edited"])
def test_a_file_that_is_not_as_recorded_is_never_served(trial, served, how):
    """Each attack puts something under a name the warehouse recorded, or a report's name."""
    _, out, blinded, unblinded = trial
    target = out / "runback_week_8_cut99_closed.html"  # a report's name, never recorded
    recorded_copy = out / blinded.name
    original = recorded_copy.read_bytes()
    try:
        if how == "copy":
            target.write_bytes(unblinded.read_bytes())
        elif how == "hard link":
            os.link(unblinded, target)
        elif how == "symlink":
            target.symlink_to(unblinded)
        elif how == "folder":
            target.mkdir()
        elif how == "link to a folder":
            target.symlink_to("/etc")
        else:  # the recorded report itself, replaced by the unblinded page
            recorded_copy.write_bytes(unblinded.read_bytes())
            target = recorded_copy
        assert httpx.get(f"{served}/{target.name}").status_code == 404
        assert f'href="{target.name}"' not in httpx.get(f"{served}/").text  # the index lists what is served
    finally:
        recorded_copy.write_bytes(original)
        if target != recorded_copy:
            if target.is_dir() and not target.is_symlink():
                target.rmdir()
            else:
                target.unlink(missing_ok=True)


def test_a_hard_link_of_a_recorded_report_is_not_served(trial, served):
    """A recorded file with a second name could be the unblinded root's: it has other names."""
    _, out, blinded, _ = trial
    other = out.with_name("out-unblinded") / "elsewhere.html"
    os.link(blinded, other)
    try:
        assert httpx.get(f"{served}/{blinded.name}").status_code == 404
    finally:
        other.unlink()
    assert httpx.get(f"{served}/{blinded.name}").status_code == 200


def test_paths_outside_the_root_are_not_served(served):
    for path in ("/../w.duckdb", "/%2e%2e/w.duckdb", "/queries/", "/queries", "//etc/passwd"):
        assert httpx.get(served + path).status_code == 404, path


def test_nothing_is_served_but_get_and_head(served):
    assert httpx.post(f"{served}/index.html").status_code == 405


def test_the_index_file_in_the_root_lists_what_is_served(trial):
    _, out, blinded, unblinded = trial
    text = (out / "index.html").read_text()
    assert blinded.name in text and unblinded.name not in text


def test_serving_needs_nothing_but_the_warehouse_records(trial):
    """The root's index is generated from the records: a report file the warehouse never recorded
    (made by hand, copied in) is neither listed nor served."""
    _, out, *_ = trial
    stray = out / "runback_month_6_cut1_closed.html"
    stray.write_text("<html>a report made elsewhere</html>")
    try:
        assert stray.name not in Path(out / "index.html").read_text()
    finally:
        stray.unlink()


def test_one_server_publishes_each_trial_under_its_name_and_only_its_own(trial, tmp_path):
    """`runback publish` for a trials unit: trial `a`'s files under /a/, none under /b/ (another
    trial's root, whose warehouse does not exist yet), nothing at /; /a redirects to its index."""
    db, out, blinded, _ = trial
    server = published.server(
        {"a": Site(db, out.resolve()), "b": Site(tmp_path / "b.duckdb", tmp_path / "b")}, ("127.0.0.1", 0)
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = published.url_of(server)
    try:
        assert httpx.get(f"{url}/a/{blinded.name}").content == blinded.read_bytes()
        assert blinded.name in httpx.get(f"{url}/a/").text
        moved = httpx.get(f"{url}/a")
        assert moved.status_code == 301 and moved.headers["location"] == "/a/"
        for hidden in (f"/b/{blinded.name}", "/b/", f"/{blinded.name}", "/", f"/c/{blinded.name}"):
            assert httpx.get(url + hidden).status_code == 404, hidden
    finally:
        server.shutdown()
        server.server_close()
