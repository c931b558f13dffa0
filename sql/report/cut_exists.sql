-- Whether a data cut exists (one row: 1 or 0).
select count(*) from meta.data_cuts where cut_id = $cut;
