"""Where outputs live, by audience, and what may be published: decided by where a file is and
what the warehouse recorded, never by its name.

- The **blinded root** (`settings.out_dir()`) holds blinded outputs only: blinded reports, their
  PDFs, the folder's index and the data-query listings (`queries/`). Every file runback writes
  there is recorded in `meta.outputs` by its path and SHA-256 in the same transaction that writes
  it; `runback serve` publishes only those files, as they were written (`published_bytes`).
- The **unblinded root** (`settings.unblinded_dir()`, beside the blinded root, mode 0700) holds
  unblinded reports: each is logged in `meta.report_runs` first (committed), then written to a
  private (0600) temporary file inside the root and renamed into place; a failure removes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from runback.flows import settings
from runback.flows.warehouse import connect, connect_read_only, sql, transaction

PRIVATE_DIR, PRIVATE_FILE = 0o700, 0o600


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def private_root(out: Path | None = None) -> Path:
    """The unblinded root (beside the blinded root `out`), made private (0700) if it is not."""
    root = settings.unblinded_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(PRIVATE_DIR)
    return root


@contextlib.contextmanager
def placed(path: Path, data: bytes, mode: int) -> Iterator[None]:
    """Write `data` to a temporary file beside `path` (mode `mode` from its creation), then, when
    the block ends without error, rename it into place; on any failure the temporary file goes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as tmp:
            tmp.write(data)
            tmp.flush()
            os.fsync(tmp.fileno())
        yield
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise


def public_mode() -> int:
    """The mode of a published file: readable as the umask allows."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_blinded(db: Path, root: Path, relative: str, data: bytes, kind: str, cut: int | None, also=None) -> Path:
    """Write a blinded output at `relative` under the blinded root `root` and record it in
    `meta.outputs`, all or nothing: the row is inserted (with whatever `also(con)` writes in the
    same transaction), the file put in place, then the row committed; if the commit fails, the
    file is removed."""
    path = root / relative
    done = False
    con = connect(db)
    try:
        with transaction(con):
            params = {"path": relative, "sha256": sha256(data), "kind": kind, "cut": cut}
            con.execute(sql("report/record_output"), params)
            if also is not None:
                also(con)
            with placed(path, data, public_mode()):
                pass
            done = True
    except BaseException:
        if done:  # in place, but its record did not commit: not a recorded output
            path.unlink(missing_ok=True)
        raise
    finally:
        con.close()
    return path


def record(db: Path, root: Path, relative: str, kind: str, cut: int | None) -> None:
    """Record a blinded output written by another program (a PDF Chromium printed) as it is now."""
    data = (root / relative).read_bytes()
    with connect(db) as con:
        con.execute(sql("report/record_output"), {"path": relative, "sha256": sha256(data), "kind": kind, "cut": cut})


def recorded(db: Path) -> list[dict]:
    """The blinded outputs recorded, newest first: path, sha256, kind, data_cut, timepoint,
    audience (of a report), written_at."""
    with connect_read_only(db, wait_s=1.0) as con:
        cursor = con.execute(sql("report/published"))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def published(db: Path, root: Path) -> list[dict]:
    """The recorded blinded outputs whose file in `root` is as recorded: what may be published."""
    return [o for o in recorded(db) if o["kind"] != "index" and published_bytes(root, o["path"], o["sha256"])]


def published_bytes(root: Path, relative: str, expected_sha256: str) -> bytes | None:
    """The bytes of a recorded blinded output, or None when the file there is not what was
    recorded: a link (anywhere on its path), not a regular file, a file with other names (a hard
    link), or other bytes than the recorded SHA-256 (a copy or an edit)."""
    parts = Path(relative).parts
    if not parts or any(p in ("", ".", "..") for p in parts) or Path(relative).is_absolute():
        return None
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:  # each folder on the way, never through a link
            step = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = step
        file = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
    except OSError:
        return None
    finally:
        os.close(fd)
    with os.fdopen(file, "rb") as f:
        info = os.fstat(f.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            return None
        data = f.read()
    return data if sha256(data) == expected_sha256 else None
