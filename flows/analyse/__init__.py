"""Stage analyse: the analysis tables of a data cut (SQL in `sql/analyse/`) and the models
fitted on them.
"""
