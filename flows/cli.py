"""The `runback` command line: simulate, ingest, report, look, lock, query, export, status, check, key, serve, demo.

Every command's `--help` is its docstring. Errors a user can act on are `RunbackError`s, turned
into one line on stderr and their exit code here, in one place (`_App.command`); the exit codes
are listed in `runback.flows.errors` (0 done, 1 done with data queries, 3 refused, 4 busy,
5 internal error; 2 stays typer's code for a bad option).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from enum import StrEnum
from importlib.metadata import version
from pathlib import Path

import typer

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")

from runback.flows import settings  # noqa: E402
from runback.flows.errors import Exit, Refused, RunbackError  # noqa: E402
from runback.schemas.file_status import APPLIED, FileStatus  # noqa: E402
from runback.schemas.trial import Audience, Timepoint  # noqa: E402


class _App(typer.Typer):
    """A typer app whose commands turn a RunbackError into its message and exit code."""

    def command(self, *args, long_work: bool = False, **kwargs):
        """A command; `long_work` ones show their progress on a terminal (see flows/progress.py)."""
        register = super().command(*args, **kwargs)

        def decorator(function):
            @functools.wraps(function)
            def speaking(*a, **kw):
                try:
                    with (
                        settings.use_trial(kw.get("trial")),
                        _progress_shown() if long_work else contextlib.nullcontext(),
                    ):
                        return function(*a, **kw)
                except RunbackError as err:
                    typer.echo(f"runback: {err.problem}", err=True)
                    if err.advice:
                        typer.echo(err.advice, err=True)
                    raise typer.Exit(int(err.exit_code)) from None

            return register(speaking)

        return decorator


app = _App(
    help="runback: a trial's REDCap exports -> a validated DuckDB outcome warehouse -> follow-up reports.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: flags without types, globs as written, names never cut
)

DbOption = typer.Option(None, "--db", help="Warehouse file (default: $RUNBACK_DB or data/runback.duckdb).")
KeyOption = typer.Option(
    None, "--key", help="Allocation key file (default: $RUNBACK_KEY or keys/allocation.key), not beside the warehouse."
)
UnblindedKeyOption = typer.Option(None, "--key", help="The warehouse's allocation key (only with --unblinded).")
TrialOption = typer.Option(
    None,
    "--trial",
    metavar="NAME",
    help="The trial whose settings to use: $RUNBACK_TRIALS/NAME.toml (default: the environment's settings).",
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"runback {version('runback')}")
        raise typer.Exit()


@app.callback()
def _main(
    show_version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print runback's version and exit."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="Only warnings and errors on stderr, no progress display (stdout is unchanged)."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Every step on stderr, Prefect's too."),
) -> None:
    """runback: a trial's REDCap exports -> a validated DuckDB outcome warehouse -> follow-up reports.

    Without PREFECT_API_URL, a command runs its flow's steps in this process, with no Prefect
    server (quick, untracked); with it, the command is a tracked flow run on that server.
    """
    import logging

    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    log = logging.getLogger("runback")
    if not log.handlers and not logging.getLogger().handlers:  # Prefect's console handler prints them otherwise
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        log.addHandler(handler)
        _terminal.update(handler=handler)
    log.setLevel(level)
    _terminal.update(progress=not quiet and sys.stderr.isatty())


_terminal: dict = {"progress": False, "handler": None}
"""How this command speaks to its terminal (set by the global options)."""


def _progress_shown():
    """The progress display of long work, on a terminal only, and not in a tracked run (its
    progress is in the Prefect UI, and Prefect's own log lines would run through the display)."""
    from runback.flows.runs import server_configured

    if not _terminal["progress"] or server_configured():
        return contextlib.nullcontext()
    from runback.flows import progress

    return progress.shown(_terminal["handler"])


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def _db(db: Path | None) -> Path:
    return db or settings.db_path()


@app.command()
def simulate(
    out: Path = typer.Option(None, "--out", help="Folder to write the nightly exports into (with --trial: its inbox)."),
    participants: int = typer.Option(84, help="Participants randomised."),
    seed: int = typer.Option(1, help="Random seed: the same seed writes the same bytes."),
    defects: bool = typer.Option(False, "--defects/--clean", help="Inject the faults real exports carry."),
    nights: int = typer.Option(10, min=2, help="Nightly exports to write, spread over the trial."),
    sites: int = typer.Option(1, min=1, max=3, help="Sites recruiting; 2 or 3 add the data access group column."),
    trial: str = TrialOption,
) -> None:
    """Write the simulated trial's nightly REDCap exports (and its data dictionary) into OUT.

    With --defects it also writes defects.json, naming each injected fault (file, record, event,
    instance, form, field, kind) and what runback should do with it. With --sites 2 (or 3) the
    trial recruits at several sites and every export carries REDCap's `redcap_data_access_group`
    column with the site's group name.
    """
    from runback.flows.simulate import simulate as run

    if out is None and trial is None:
        raise Refused("simulate needs a folder to write into.", "Name it with --out DIR (or --trial NAME: its inbox).")
    out = out or settings.inbox_dir()
    result = run(out, participants=participants, seed=seed, defects=defects, nights=nights, sites=sites)
    typer.echo(
        f"{len(result.files)} nightly exports of {result.participants} randomised ({result.screened} screened) in {out}"
    )
    if result.manifest:
        typer.echo(f"defects: {result.manifest}")


@app.command(long_work=True)
def ingest(
    paths: list[Path] = typer.Argument(
        None, metavar="[PATH]...", help="Export files or folders (default: $RUNBACK_INBOX or data/inbox)."
    ),
    db: Path = DbOption,
    project: Path = typer.Option(
        None, help="Folder of the REDCap project files (default: the trial's, schemas/redcap)."
    ),
    accept_dictionary: bool = typer.Option(
        False, "--accept-dictionary", help="Load exports whose new dictionary removes or retypes fields."
    ),
    accept_deletions: bool = typer.Option(
        False, "--accept-deletions", help="Load the files named even though they lack form rows the warehouse holds."
    ),
    accept_identifier_change: bool = typer.Option(
        False,
        "--accept-identifier-change",
        help="Load exports whose new dictionary stops marking a field as an identifier (its values are stored).",
    ),
    export_time: str = typer.Option(
        None,
        "--export-time",
        metavar="'YYYY-MM-DD HH:MM'",
        help="The export time of the one FILE given (site time), for a file held because its order is unknown.",
    ),
    key: Path = KeyOption,
    trial: str = TrialOption,
) -> None:
    """Ingest REDCap exports now (runs the nightly-ingest flow).

    Folders are searched for raw exports (*_DATA_*.csv), which load oldest first by the time in
    their names. Each file is loaded whole (one transaction), or refused and recorded, or held when
    its order cannot be known (no time in its name, another file with the same time, a time the
    clock change repeated): apply a held file with --export-time. Form rows that fail validation
    are quarantined with their reasons; see `runback status` and the quarantine tables.

    The allocation is masked at intake with the allocation key (--key): the warehouse holds only
    the blinded letters. The first ingest that meets a randomisation makes the key when there is
    none and says so; afterwards the key must be the warehouse's own (checked by its fingerprint).
    """
    missing = [str(p) for p in paths or [] if not p.exists() and not p.is_symlink()]
    if missing:
        raise Refused(f"no such file or folder: {', '.join(missing)}", "Name an export file or a folder of exports.")
    if project is not None:
        _check_project(project)
    if accept_deletions and not any(p.is_file() or p.is_symlink() for p in paths or []):
        raise Refused(
            "--accept-deletions accepts the deletions of the export files you name, after review; none is named.",
            "Name the reviewed export file: runback ingest --accept-deletions FILE.",
        )
    night = _night(
        paths or None,
        _db(db),
        project,
        {
            "accept_dictionary": accept_dictionary,
            "accept_deletions": accept_deletions,
            "accept_identifiers": accept_identifier_change,
            "export_time": _export_time(export_time) if export_time is not None else None,
            "key": str(key) if key else None,
        },
    )
    _print_summary(night)
    raise typer.Exit(_ingest_exit_code(night))


def _night(paths: list[Path] | None, db: Path, project: Path | None, options: dict):
    """A night of ingest: the `nightly-ingest` flow, tracked, on the Prefect server configured;
    the same steps in this process without one (flows/night.py). Its Night, well or not."""
    from runback.flows.runs import check_reachable, server_configured

    if not server_configured():
        from runback.flows import night
        from runback.flows.ingest.pipeline import Options

        return night.run(paths, db, project or settings.project_dir(), Options.of(**options))
    check_reachable()
    from runback.flows.night import NightNotWell
    from runback.flows.nightly_ingest import nightly_ingest

    where = [str(p) for p in paths] if paths else None
    project = str(project) if project else None
    state = nightly_ingest(where, str(db), project, **options, trial=settings.trial_name(), return_state=True)
    value = state.result(raise_on_failure=False)
    if isinstance(value, NightNotWell):
        return value.night
    if isinstance(value, BaseException):
        raise value
    return value


def _print_summary(night) -> None:
    """The run on stdout: tonight's files, and the data query listing of a new cut."""
    typer.echo(night.text)
    if night.listing is not None:
        typer.echo(f"Open data queries of cut {night.cut}, to send to the sites: {night.listing}")


def _export_time(text: str) -> str:
    """--export-time as an ISO time, or a refusal saying the form it takes."""
    import datetime as dt

    try:
        return dt.datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").isoformat()
    except ValueError:
        raise Refused(
            f"--export-time {text!r} is not a time like '2015-03-01 02:00'.",
            "Give the site's local time of the export, as YYYY-MM-DD HH:MM.",
        ) from None


def _ingest_exit_code(night) -> int:
    """6 when some files loaded and others need a person, 3 when the night needs a person and
    loaded nothing (as the flow run's state says), 1 with new data queries."""
    if night.problems:
        return Exit.PARTLY if night.partly else Exit.REFUSED
    if any(r.quarantined + r.flagged for r in night.tonight):
        return Exit.WITH_QUERIES
    return Exit.OK


def _check_project(folder: Path) -> None:
    """Refuse a --project folder that holds no data dictionary before any flow starts."""
    from runback.flows.ingest.project import load_project

    load_project(folder)


@app.command(long_work=True)
def report(
    timepoint: Timepoint = typer.Option(..., help="week_8 (baseline to week 8) or month_6 (all five assessments)."),
    audience: Audience = typer.Option(
        Audience.closed, help="closed: by arm (letters, or arms with --unblinded); open: pooled over the arms."
    ),
    data_cut: int = typer.Option(None, "--data-cut", help="Data cut to report on (default: the newest)."),
    unblinded: bool = typer.Option(False, "--unblinded", help="Show arm names (needs --key); logged."),
    key: Path = UnblindedKeyOption,
    out: Path = typer.Option(None, help="Folder for the report (default: $RUNBACK_OUT or out/)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print a PDF with headless Chromium."),
    dmc_reason: str = typer.Option(
        None, "--dmc-reason", help="Why the DMC asks p-values at a cut that is not a planned look (recorded)."
    ),
    db: Path = DbOption,
    trial: str = TrialOption,
) -> None:
    """Render the follow-up report of a data cut (runs the followup-report flow).

    --audience closed (the default; for the closed session of the data monitoring committee)
    shows every section by arm; --audience open (for the steering committee) pools the arms and
    shows no efficacy, no result by arm and no participant listing. Blinded by default: the
    warehouse holds blinded letters only, so a closed report shows Arm A/B/C without any key.
    --unblinded --key FILE shows the arms, with the warehouse's own key only, and is logged before
    the file is written. The file is `out/runback_<timepoint>_cut<id>_<audience>[_unblinded].html`;
    the same cut and options always give the same bytes. A closed report shows between-arm
    p-values only at a planned look (`runback look`) or the final analysis (`runback lock`); at any
    other cut its estimates are descriptive unless the data monitoring committee asks with
    --dmc-reason TEXT, recorded with the report and shown in it. Examples:

        runback report --timepoint week_8
        runback report --timepoint week_8 --audience open
        runback report --timepoint month_6 --data-cut 3 --pdf
        runback report --timepoint month_6 --unblinded --key /secure/allocation.key
        runback report --timepoint week_8 --data-cut 5 --dmc-reason "safety signal in the SAE listing"
    """
    if unblinded and key is None:
        raise Refused("an unblinded report needs the allocation key.", "Run it as --unblinded --key FILE.")
    if unblinded and audience is Audience.open:
        raise Refused(
            "an open report pools the arms, so it is never unblinded.",
            "Drop --unblinded, or ask for --audience closed.",
        )
    _check_cut(_db(db), data_cut)  # before Prefect and the report's libraries are even imported
    request = {
        "timepoint": timepoint.value,
        "audience": audience.value,
        "data_cut": data_cut,
        "blinded": not unblinded,
        "key": str(key) if key else None,
        "out_dir": str(out) if out else None,
        "pdf": pdf,
        "db": str(_db(db)),
        "dmc_reason": dmc_reason,
    }
    for path in _report(request):
        typer.echo(path)


def _report(request: dict) -> list[Path]:
    """A report: the `followup-report` flow, tracked, on the Prefect server configured; made in
    this process without one (flows/report/make.py). Its files (the HTML, and the PDF if asked)."""
    from runback.flows.runs import check_reachable, server_configured

    if not server_configured():
        from runback.flows.report import make

        return make.make(make.Request(**request))
    check_reachable()
    from runback.flows.followup_report import followup_report

    html = followup_report(**request, trial=settings.trial_name())
    pdf = html.with_suffix(".pdf")
    return [html, pdf] if request["pdf"] and pdf.exists() else [html]


@app.command()
def plan(
    out: Path = typer.Option(None, help="Folder for the plan (default: $RUNBACK_OUT or out/)."),
    pdf: bool = typer.Option(False, "--pdf", help="Also print a PDF with headless Chromium."),
    effect: float = typer.Option(
        None, "--effect", help="Sample size instead: the difference in means at the primary timepoint."
    ),
    sd: float = typer.Option(1.0, "--sd", help="With --effect: the outcome's SD at the primary timepoint."),
    correlation: float = typer.Option(0.0, "--correlation", help="With --effect: its correlation with baseline."),
    dropout: float = typer.Option(0.10, "--dropout", help="With --effect: share randomised without the outcome."),
    alpha: float = typer.Option(None, "--alpha", help="With --effect: one-sided alpha (default: the plan's)."),
    trial: str = TrialOption,
) -> None:
    """Render the statistical analysis plan as declared (schemas/plan.py), to be signed.

    The file is `runback_plan_<version>_<sha256>.html`: the plan's version and the hash of its
    content, which every report names. The plan holds no data: it can be rendered, reviewed and
    signed before any data are unblinded.

    With --effect, recompute a sample size instead (docs/sample-size.md): the power of one pair
    of arms with the recruitment target randomised, and the participants to randomise for 80% and
    90% power, with the plan's looks and alpha spending. Example:

        runback plan --effect 0.526 --sd 1.22 --correlation 0.6 --dropout 0.1
    """
    if effect is not None:
        typer.echo(_sample_size(effect, sd, correlation, dropout, alpha))
        return
    from runback.flows.report.plan import write_plan

    for path in write_plan(out or settings.out_dir(), pdf):
        typer.echo(path)


def _sample_size(effect: float, sd: float, correlation: float, dropout: float, alpha: float | None) -> str:
    """The power and sample size of one pair of arms under the plan's looks (looks.Assumptions)."""
    import math

    from runback.flows.analyse.looks import Assumptions
    from runback.schemas.plan import LOOKS
    from runback.schemas.trial import ARMS, RECRUITMENT

    alpha = LOOKS.alpha if alpha is None else alpha
    values = (effect, sd, correlation, dropout, alpha)
    within = sd > 0 and 0 <= correlation < 1 and 0 <= dropout < 1 and effect != 0 and 0 < alpha < 0.5
    if not (all(map(math.isfinite, values)) and within):
        raise Refused(
            "the assumptions are out of range.",
            "Give a finite --effect other than 0, --sd > 0, 0 <= --correlation < 1, 0 <= --dropout < 1 "
            "and 0 < --alpha < 0.5.",
        )
    fractions = (*LOOKS.interim, 1.0)
    found = Assumptions(effect, sd, correlation, alpha, dropout, fractions, len(ARMS))
    return (
        f"difference {effect:g}, SD {sd:g}, correlation with baseline {correlation:g} (adjusted SD "
        f"{found.adjusted_sd:.3f}), dropout {dropout:g}, one-sided alpha {found.alpha:g}, looks at "
        f"{', '.join(f'{t:g}' for t in fractions)}, {len(ARMS)} arms 1:1\n"
        f"power with {RECRUITMENT.target} randomised: {found.power(RECRUITMENT.target):.3f}\n"
        f"randomised for power 0.80: {found.required(0.2)}; for power 0.90: {found.required(0.1)}"
    )


@app.command()
def lock(
    timepoint: Timepoint = typer.Option(..., help="week_8 or month_6: the timepoint whose analysis cut is declared."),
    data_cut: int = typer.Option(None, "--data-cut", help="Data cut to lock (default: the newest)."),
    force: bool = typer.Option(False, "--force", help="Lock while participants are still inside the window."),
    reason: str = typer.Option(None, "--reason", help="Why a forced lock is made (required with --force)."),
    db: Path = DbOption,
    trial: str = TrialOption,
) -> None:
    """Lock the analysis cut of a timepoint (database lock), once and for good: its final look.

    Records the cut with the content hash of its analysis input, the runback version and the hash
    of its results in `meta.analysis_locks`; the final report of the timepoint then uses that cut
    and says so (and says when another runback version makes it, or its results differ). Refused while randomised
    participants are still inside the timepoint's window, unless forced with a reason, and
    refused when the timepoint is already locked. Examples:

        runback lock --timepoint week_8
        runback lock --timepoint month_6 --data-cut 41 --force --reason "DMC request"
    """
    from runback.flows.analyse.lock import lock as lock_cut
    from runback.flows.ingest.project import load_project
    from runback.flows.warehouse import connect

    with connect(_existing(db)) as con:
        done = lock_cut(
            con, timepoint.value, data_cut, force=force, reason=reason, study=load_project(settings.project_dir())
        )
    typer.echo(
        f"{done.timepoint} locked at data cut {done.data_cut} ({done.reached} of {done.randomised} "
        f"reached; content {done.content_hash}; runback {done.runback_version}, results {done.results_hash})"
    )


@app.command()
def look(
    timepoint: Timepoint = typer.Option(..., help="The plan's primary timepoint (week_8), whose interim look it is."),
    data_cut: int = typer.Option(None, "--data-cut", help="Data cut of the look (default: the newest)."),
    db: Path = DbOption,
    trial: str = TrialOption,
) -> None:
    """Record a data cut as the next planned interim look of the analysis plan, once.

    Records the cut in `meta.analysis_looks` with the information fraction it observed
    (participants with a primary outcome at the timepoint over the plan's planned total); its
    closed report then shows the group-sequential boundary beside the primary test. Refused when
    the plan has no interim look left, when the timepoint is locked (the lock is the final look),
    or when the cut is not after the last look. Example:

        runback look --timepoint week_8 --data-cut 12
    """
    from runback.flows.analyse.lock import record_look
    from runback.flows.ingest.project import load_project
    from runback.flows.warehouse import connect

    with connect(_existing(db)) as con:
        done = record_look(con, timepoint.value, data_cut, study=load_project(settings.project_dir()))
    typer.echo(
        f"{done.timepoint} interim look {done.look} at data cut {done.data_cut}: information fraction "
        f"{done.fraction:.3f} ({done.evaluable} of {done.planned_total}; planned {done.planned_fraction:g})"
    )


def _existing(db: Path | None) -> Path:
    """The warehouse file, refused when there is none (a command that writes never makes one)."""
    from runback.flows.warehouse import NoWarehouse

    path = _db(db)
    if not path.exists():
        raise NoWarehouse(f"there is no warehouse at {path}.", "Run `runback ingest` first, or name it with --db.")
    return path


key_app = _App(help="The allocation key: which blinded letter stands for which arm.", no_args_is_help=True)
app.add_typer(key_app, name="key")


@key_app.command("new")
def key_new(
    out: Path = typer.Option(None, help="Where to write it (default: $RUNBACK_KEY or keys/allocation.key)."),
    trial: str = TrialOption,
) -> None:
    """Create the allocation key: a random permutation of arm letters A, B, C and a secret.

    Written with mode 0600; keep it outside the warehouse's folder and away from blinded readers.
    An existing key is never overwritten (the letters must stay the same for the whole trial).
    """
    from runback.flows.allocation import new_key

    path = out or settings.key_path()
    made = new_key(path)
    typer.echo(f"allocation key written to {path} (fingerprint {made.fingerprint})")


@key_app.command("migrate")
def key_migrate(
    key: Path = typer.Option(..., "--key", help="The trial's allocation key file."),
    db: Path = DbOption,
    trial: str = TrialOption,
) -> None:
    """Mask the allocation of a warehouse made before runback masked it at intake (logged).

    Rewrites every stored allocation value to its blinded letter with the key, records the key's
    fingerprint, and re-analyses the newest cut. A key file of an older runback gets its secret
    (the letters stay). Refused without the key, or with a key other than the one recorded.
    """
    from runback.flows.key_migration import mask_warehouse

    typer.echo(mask_warehouse(_db(db), key))


@app.command()
def query(
    sql_text: str = typer.Argument(..., metavar="SQL", help="A SELECT (or any read-only statement)."),
    db: Path = DbOption,
    fmt: Format = typer.Option(Format.table, "--format", help="Output format."),
    limit: int = typer.Option(10_000, min=0, help="Print at most this many rows (0: all); says so when it cuts."),
    timeout: float = typer.Option(30.0, min=0, help="Stop the query after this many seconds (0: no limit)."),
    unblinded: bool = typer.Option(False, "--unblinded", help="Add the table unblinded_arms (needs --key); logged."),
    key: Path = UnblindedKeyOption,
    trial: str = TrialOption,
) -> None:
    """Run read-only SQL on the warehouse and print the result.

    The warehouse is opened read-only with file and network access disabled: writes, ATTACH,
    COPY, reading files and INSTALL/LOAD fail. A result longer than --limit rows is cut (and
    says so on stderr); a query running longer than --timeout is stopped. In CSV, a text cell
    that a spreadsheet would run as a formula gets a leading apostrophe, as in `runback export`.
    The warehouse holds blinded letters only; --unblinded --key FILE adds, for this query only,
    a temporary table `unblinded_arms` (letter, arm, name) to join on, and is logged first.
    Example:

        runback query "select form, count(*) from quarantine.rows group by all"
    """
    from runback.flows.query.ad_hoc import run_query
    from runback.flows.spreadsheet import neutralise

    result = run_query(_db(db), sql_text, limit, timeout, _unblinding_key(unblinded, key, _db(db)))
    if unblinded:
        typer.echo("UNBLINDED query: unblinded_arms maps the letters to the arms; this query was logged.", err=True)
    if fmt is Format.parquet:
        import pyarrow.parquet as pq

        pq.write_table(result.table, sys.stdout.buffer)
    else:
        frame = result.table.to_pandas()
        if fmt is Format.csv:
            neutralise(frame).to_csv(sys.stdout, index=False)
        elif fmt is Format.json:
            typer.echo(frame.to_json(orient="records", date_format="iso", indent=1))
        else:
            typer.echo(frame.to_string(index=False) if len(frame) else "(no rows)")
    if result.truncated:
        typer.echo(
            f"(the result has more than {limit:,} rows; the first {limit:,} are shown: raise --limit, "
            "or --limit 0 for all)",
            err=True,
        )


@app.command()
def status(
    db: Path = DbOption,
    max_age_hours: float = typer.Option(
        None, help="Warn when the newest export is older (default: 36, or $RUNBACK_MAX_AGE_HOURS)."
    ),
    trial: str = TrialOption,
) -> None:
    """Show the warehouse's data cuts, the files seen, what is in quarantine, and how fresh the
    newest export is (a warning when it is older than --max-age-hours)."""
    from runback.flows.query.freshness import last_export, stale
    from runback.flows.warehouse import connect_read_only

    con = connect_read_only(_db(db))
    files = con.execute(_status_sql("files")).df().convert_dtypes()  # counts stay whole numbers beside a NULL
    cuts = con.execute(_status_sql("cuts")).df().convert_dtypes()
    queries = con.execute(_status_sql("quarantine"), {"applied": APPLIED}).df().convert_dtypes()
    typer.echo(f"warehouse: {_db(db)}")
    typer.echo(f"\ndata cuts ({len(cuts)}):")
    typer.echo(cuts.tail(10).to_string(index=False) if len(cuts) else "  none yet")
    typer.echo(f"\nfiles seen ({len(files)}):")
    typer.echo(files.tail(15).to_string(index=False) if len(files) else "  none yet")
    typer.echo("\nin quarantine and flagged, as of the latest file:")
    typer.echo(queries.to_string(index=False) if len(queries) else "  nothing")
    last = last_export(con)
    if last:
        typer.echo(f"\nnewest export: {last.describe()}")
    warning = stale(con, settings.site_now(), max_age_hours or settings.max_age_hours())
    if warning:
        typer.echo(f"WARNING: {warning}")


def _check_cut(db: Path, cut: int | None) -> None:
    """Refuse a missing warehouse or an unknown data cut before any flow starts (one line, no
    flow run that fails)."""
    from runback.flows.cuts import cuts
    from runback.flows.warehouse import connect_read_only

    with connect_read_only(db) as con:
        cuts(con).chosen(cut)


def _unblinding_key(unblinded: bool, key: Path | None, db: Path):
    """The warehouse's own key for an unblinded output, or None for a blinded one."""
    if not unblinded:
        if key is not None:
            raise Refused("--key is only for --unblinded output.", "Leave --key out, or add --unblinded.")
        return None
    if key is None:
        raise Refused("unblinded output needs the allocation key.", "Add --key FILE.")
    from runback.flows.allocation import warehouse_key

    return warehouse_key(key, db)


def _status_sql(name: str) -> str:
    from runback.flows.warehouse import sql

    return sql(f"query/status_{name}")


@app.command()
def check(db: Path = DbOption, trial: str = TrialOption) -> None:
    """Check the warehouse's integrity: every clean row traces to a loaded file and a data cut,
    every cut to its file, row counts agree with the quarantine, the newest cut is analysed and
    no lock is contradicted; names the cuts loaded but not analysed. Exit code 5 on a problem."""
    from runback.flows.query.integrity import content_hash, problems, unanalysed
    from runback.flows.warehouse import connect_read_only

    con = connect_read_only(_db(db))
    found = problems(con)
    for problem in found:
        typer.echo(f"PROBLEM: {problem}")
    if unanalysed(con):
        waiting = ", ".join(map(str, unanalysed(con)))
        typer.echo(f"data cuts loaded but not analysed: {waiting} (the next `runback ingest` analyses them)")
    typer.echo(f"content hash: {content_hash(con)}")
    if found:
        raise typer.Exit(Exit.INTERNAL)
    typer.echo("the warehouse is sound")


@app.command()
def serve(
    cron: str = typer.Option(
        None, help="Schedule of the nightly ingest, cron in --timezone (default: $RUNBACK_CRON or 0 2 * * *)."
    ),
    timezone: str = typer.Option(
        None, help="Time zone of the schedule (default: $RUNBACK_TIMEZONE or Asia/Singapore)."
    ),
    interval: float = typer.Option(None, help="Run the nightly ingest every INTERVAL seconds instead (tests, demos)."),
    trial: str = TrialOption,
) -> None:
    """Serve the deployments `nightly-ingest/nightly` (scheduled) and `followup-report/adhoc`
    (with --trial NAME: `nightly-ingest/NAME` and `followup-report/NAME`, on the trial's schedule).

    Needs a running Prefect server (`prefect server start`) in PREFECT_API_URL: an ephemeral
    server has no scheduler. Runs one flow at a time; stopping it leaves the schedule active.
    Ad-hoc report: `prefect deployment run 'followup-report/adhoc' --param timepoint=month_6`.
    """
    from runback.flows.deployments import serve_all

    serve_all(cron or settings.cron(), timezone or str(settings.timezone()), interval, trial)


@app.command()
def publish(trial: str = typer.Option(None, "--trial", metavar="NAME", help="Only this trial.")) -> None:
    """Publish the reports, read-only, over HTTP on $RUNBACK_REPORTS_ADDRESS (default
    127.0.0.1:8765) until interrupted: the files each warehouse recorded in its blinded root (blinded
    reports, their PDFs, data-query listings) and an index. Every trial of the trials folder is
    published under /NAME/ (with --trial, only that one); without trial files, the environment's
    set-up at /.

    For a work pool's set-up, where no `runback serve` publishes them: set RUNBACK_REPORTS_URL to
    this server's address where the flows run, and the links their runs leave open in a browser.
    """
    from runback.flows import published

    running = published.server(published.sites(trial))
    shown = ", ".join(f"/{name}/" if name else "/" for name in running.RequestHandlerClass.sites)
    typer.echo(f"publishing {shown} on {published.url_of(running)} (Ctrl-C stops)")
    with running:
        running.serve_forever()


@app.command()
def deploy(
    pool: str = typer.Option(None, "--pool", metavar="NAME", help="The work pool whose workers run them."),
) -> None:
    """Create or update, on the Prefect server in PREFECT_API_URL, the deployments of every trial
    in the trials folder ($RUNBACK_TRIALS, default trials/): `nightly-ingest/NAME` on the trial's
    schedule and `followup-report/NAME`, each run with the trial's settings.

    With --pool, the pool's workers run them (the runback package installed where they run);
    without, `runback serve --trial NAME` does. Run it again after a trial file changes.
    """
    from runback.flows.deployments import deploy_trials

    for name in deploy_trials(pool):
        typer.echo(name)


class ExportFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"
    dta = "dta"


@app.command(long_work=True)
def export(
    to: Path = typer.Option(..., "--to", help="Folder to write the tables into."),
    fmt: ExportFormat = typer.Option(ExportFormat.csv, "--format", help="csv, parquet or dta (Stata)."),
    data_cut: int = typer.Option(None, "--data-cut", help="Data cut (default: the newest analysed)."),
    db: Path = DbOption,
    unblinded: bool = typer.Option(False, "--unblinded", help="Arm columns hold the true arm (needs --key); logged."),
    key: Path = UnblindedKeyOption,
    trial: str = TrialOption,
) -> None:
    """Write the analysis tables of a data cut for statisticians, with a data dictionary.

    Blinded: arm columns hold the letters A, B, C, as the warehouse does. --unblinded --key FILE
    writes the true arm (LL, LE, LS) instead, says so in data_dictionary.csv and UNBLINDED.txt,
    and is logged before anything is written.

    One file per table, named after it (participants.csv, outcomes.csv, ...), and
    data_dictionary.csv describing every column. De-identified: no identifier is stored in the
    warehouse. In CSV, a text cell starting with = + - @ gets a leading apostrophe so that a
    spreadsheet cannot run it as a formula (numbers stay numbers).
    """
    from runback.flows.query.export import export_tables

    written = export_tables(_db(db), to, fmt.value, data_cut, _unblinding_key(unblinded, key, _db(db)))
    for path in written:
        typer.echo(path)


@app.command(long_work=True)
def demo(
    folder: Path = typer.Option(
        None, "--folder", help="Folder for the demo's exports and warehouse (default: data/demo)."
    ),
    participants: int = typer.Option(84, help="Participants randomised."),
    seed: int = typer.Option(1, help="Random seed."),
) -> None:
    """Simulate the trial (with the usual export faults), ingest every night in order, lock each
    timepoint every participant has reached, and render the follow-up reports (8 weeks, 6 months;
    open and closed, blinded) of the last night's data cut.

    The demo keeps its own exports and warehouse in FOLDER and its allocation key beside it in
    FOLDER-key/ (all made afresh each time), so it never touches the trial's; its reports and
    data-query listings go to out/demo/. Prints where everything is; exit code 0 when the run
    completed, whatever the quarantine holds.
    """
    import shutil

    from runback.flows.simulate import simulate as run

    folder = folder or settings.DATA_DIR / "demo"
    key = folder.with_name(f"{folder.name}-key") / "allocation.key"  # outside the warehouse's folder
    shutil.rmtree(folder, ignore_errors=True)
    key.unlink(missing_ok=True)
    exports, database = folder / "exports", folder / "runback.duckdb"
    result = run(exports, participants=participants, seed=seed, defects=True, nights=10)
    typer.echo(f"simulated {len(result.files)} nightly exports in {exports}")
    options = dict.fromkeys(("accept_dictionary", "accept_deletions", "accept_identifiers"), False)
    out = settings.out_dir() / "demo"
    demo_trial = settings.Trial("", database, exports, out, key, max_age_hours=float("inf"))  # simulated dates
    with settings.use_trial(demo_trial):  # the demo's own settings
        night = _night([exports], database, None, options | {"export_time": None, "key": str(key)})
        cuts = sum(r.status is FileStatus.LOADED for r in night.results)
        typer.echo(f"\ningested {len(night.results)} exports ({cuts} data cuts) into {database}; allocation key: {key}")
        _demo_locks(database)
        reports = [
            _report(
                {
                    "timepoint": timepoint,
                    "audience": audience,
                    "data_cut": None,
                    "blinded": True,
                    "key": None,
                    "out_dir": str(out),
                    "pdf": False,
                    "db": str(database),
                }
            )[0]
            for timepoint in Timepoint
            for audience in Audience
        ]
    typer.echo("\nreports (blinded) of the last data cut:")
    for path in reports:
        typer.echo(f"  {path}")
    typer.echo(f"\nlook around:  runback status --db {database}")
    typer.echo(f'              runback query --db {database} "select * from latest.outcome_summary"')


def _demo_locks(database: Path) -> None:
    """Lock each timepoint that every randomised participant has passed at the demo's last cut, as a
    trial does at the end of follow-up, so the demo's reports are its final analysis (the others stay
    unplanned cuts: descriptive, no p-value)."""
    from runback.flows.analyse import lock
    from runback.flows.cuts import cuts
    from runback.flows.warehouse import connect

    with connect(database) as con:
        last = cuts(con).chosen(None)
        for timepoint in Timepoint:
            if lock.reach(con, last, str(timepoint)).interim:
                typer.echo(f"{timepoint} not locked: some participants have not reached it at data cut {last}")
            else:
                done = lock.lock(con, str(timepoint), last)
                typer.echo(f"locked {timepoint} at data cut {done.data_cut}: its reports are the final analysis")


def main() -> None:
    """Entry point: anything that escapes the commands is an internal error (exit code 5).

    SIGTERM (a service manager stopping runback, `kill`) ends the command as an exception would
    (its transactions roll back, its child processes end), with exit code 143. The exception may
    surface wrapped in another (raised inside a DuckDB scan of a pandas frame, DuckDB reports it as
    its own error): a command that was told to stop still exits 143, not as a fault."""
    import signal

    stopped: list[int] = []

    def stop(signum, frame) -> None:
        stopped.append(signum)
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        app()
    except SystemExit:
        raise
    except Exception as err:  # noqa: BLE001 - the last line of defence of a CLI
        if stopped:
            sys.exit(128 + stopped[0])
        typer.echo(f"runback: internal error: {type(err).__name__}: {err}", err=True)
        typer.echo("This is a fault in runback, not in your input: please report it with the command.", err=True)
        sys.exit(Exit.INTERNAL)
