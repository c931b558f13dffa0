-- One analysis table's rows of a cut, in a fixed order (for export).
select * from analysis.{{ table }} where data_cut = $cut order by all;
