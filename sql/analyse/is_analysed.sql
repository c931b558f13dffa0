-- Whether a cut has been analysed (one row).
select count(*) > 0 from analysis.participants where data_cut = $cut;
