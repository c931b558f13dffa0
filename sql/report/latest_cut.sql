-- The newest data cut (one row; null when there is none).
select max(cut_id) from meta.data_cuts;
