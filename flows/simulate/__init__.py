"""The trial simulator: what the trial team's nightly REDCap export job would have written.

`simulate(out, participants=84, seed=1, defects=False, nights=10)` writes `nights` full snapshots
`RUNBACK_DATA_YYYY-MM-DD_0200.csv` of a simulated 3-arm trial (recruitment, allocation, visits,
the published effects, dropouts, sessions, adverse events, stopping running and other treatment for
back pain, data entry and corrections), the data
dictionary beside the first one and, with `defects=True`, `defects.json` listing the faults
injected into nights 2..N-1.

Modules, in the order the data flows:
`people` (recruitment, eligibility, allocation) and `identity` (fake identifiers) ->
`schedule` (visits, dropout, study end) -> `forms` (screening, baseline, randomisation, end),
`outcomes` (the outcome model), `sessions` (programme log, adverse events), `intercurrent` (running
status, co-interventions) -> `entry` (entry
dates, form status, corrections) -> `table` (REDCap's row layout and nightly snapshots) ->
`defects` (faults and manifest) -> `export` (CSV bytes) ; `trial` ties them together.
"""

from runback.flows.simulate.trial import SimulationResult, simulate

__all__ = ["SimulationResult", "simulate"]
