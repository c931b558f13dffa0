-- Whether the analysis of a cut is in the warehouse (one row: participants rows of the cut).
select count(*) from analysis.participants where data_cut = $cut;
