"""Stage ingest: an export file -> the warehouse.

files (an export's identity: name, time, hash, size) -> read -> split -> validate -> coerce
-> load; beside them the dictionary versions, the project's REDCap files, the REDCap API pull
and the nightly run's summary. `pipeline.ingest_file` runs one file through all of it.
"""
